"""Reports: terminal tables, the HTML report, and the JSON / OCSF / ASFF finding writers."""
