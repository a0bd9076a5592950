public import Foundation

/// `medical-insurance.e-voucher-activated.v1`: Medical-insurance e-voucher activated (医保电子凭证激活).
///
/// The person has activated a medical-insurance electronic voucher (医保电子凭证), which can now be used to identify the person as insured.
public struct EVoucherActivated: EventData {
    /// The catalog type this struct models.
    public static let eventType = "medical-insurance.e-voucher-activated.v1"

    /// Citizen ID of the voucher holder.
    public var personId: String
    /// Identifier of the e-voucher assigned by the national medical-insurance platform.
    public var voucherId: String
    /// Instant of activation; equal to the envelope's 'time'.
    public var activatedAt: Date

    /// Creates the value from its fields.
    /// - Parameters:
    ///   - personId: Citizen ID of the voucher holder.
    ///   - voucherId: Identifier of the e-voucher assigned by the national medical-insurance platform.
    ///   - activatedAt: Instant of activation; equal to the envelope's 'time'.
    public init(personId: String, voucherId: String, activatedAt: Date) {
        self.personId = personId
        self.voucherId = voucherId
        self.activatedAt = activatedAt
    }
}
