"""The transaction lakehouse's Python code: the loader (local and S3), the file contract, the
publisher, the warehouse lock, reports and the sample-data generator, behind one command,
``lakehouse`` (``lakehouse.cli``)."""
