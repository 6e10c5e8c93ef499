"""Brokers: they subscribe to orders and publish order updates and fills. The trader never calls one."""
