"""vpcflow: prove every VPC logs its rejected traffic, then make those logs useful."""

__version__ = "0.1.0"
