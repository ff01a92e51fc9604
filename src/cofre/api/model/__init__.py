"""botocore's service models compiled into request validators and response encoders."""
