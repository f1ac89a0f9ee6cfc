//! EMV 3-D Secure 2.x and 3-D Secure 1.0.2 as plain data.
