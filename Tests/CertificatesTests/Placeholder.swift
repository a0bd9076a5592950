import Testing

@Suite struct CertificatesPlaceholderTests {}
