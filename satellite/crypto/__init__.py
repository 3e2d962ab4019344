"""All of Satellite's cryptography: keys, signatures and certificates, one module each."""
