import Foundation
import OpenAPIRuntime

// Placeholders while the certificate operations are written (replaced before this lands).
extension CertificateServicesAPI {
    func issueCertificate(_ input: Operations.IssueCertificate.Input) async throws
        -> Operations.IssueCertificate.Output
    { .undocumented(statusCode: 501, .init()) }
    func getCertificate(_ input: Operations.GetCertificate.Input) async throws -> Operations.GetCertificate.Output {
        .undocumented(statusCode: 501, .init())
    }
    func changeCertificateStatus(_ input: Operations.ChangeCertificateStatus.Input) async throws
        -> Operations.ChangeCertificateStatus.Output
    { .undocumented(statusCode: 501, .init()) }
    func getStatusList(_ input: Operations.GetStatusList.Input) async throws -> Operations.GetStatusList.Output {
        .undocumented(statusCode: 501, .init())
    }
    func verifyCertificate(_ input: Operations.VerifyCertificate.Input) async throws
        -> Operations.VerifyCertificate.Output
    { .undocumented(statusCode: 501, .init()) }
    func getDIDDocument(_ input: Operations.GetDIDDocument.Input) async throws -> Operations.GetDIDDocument.Output {
        .undocumented(statusCode: 501, .init())
    }
    func getHubJWKS(_ input: Operations.GetHubJWKS.Input) async throws -> Operations.GetHubJWKS.Output {
        .undocumented(statusCode: 501, .init())
    }
    func verificationPage(_ input: Operations.VerificationPage.Input) async throws
        -> Operations.VerificationPage.Output
    { .undocumented(statusCode: 501, .init()) }
}
