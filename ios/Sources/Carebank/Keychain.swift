import Foundation
#if canImport(Security)
import Security

/// Keeps device secrets in the iOS Keychain as generic passwords, readable only on this device
/// after its first unlock (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`): never in a
/// backup, never on another phone.
public final class KeychainKeyStore: SecureKeyStore, @unchecked Sendable {
    private let service: String

    /// A key store using Keychain items of `service` (one per app is enough).
    public init(service: String = "org.carebank.device-keys") {
        self.service = service
    }

    public func load(name: String) throws -> Data? {
        var query = baseQuery(name)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data else {
                throw PlatformError.Failed(reason: "Keychain item \(name) holds no data")
            }
            return data
        case errSecItemNotFound:
            return nil
        default:
            throw Self.failure("read \(name)", status)
        }
    }

    public func save(name: String, secret: Data) throws {
        let attributes: [String: Any] = [
            kSecValueData as String: secret,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        var status = SecItemUpdate(baseQuery(name) as CFDictionary, attributes as CFDictionary)
        if status == errSecItemNotFound {
            let item = baseQuery(name).merging(attributes) { _, new in new }
            status = SecItemAdd(item as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw Self.failure("write \(name)", status) }
    }

    private func baseQuery(_ name: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: name,
        ]
    }

    private static func failure(_ what: String, _ status: OSStatus) -> PlatformError {
        let message = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
        return PlatformError.Failed(reason: "Keychain: cannot \(what): \(message)")
    }
}
#endif

/// A new circle led by this device as town centre: a fresh circle id, and this device's key (kept
/// in `keys` under `keyName`) as the root of trust. Share the result with every member's phone.
public func newCircle(keys: SecureKeyStore, keyName: String) throws -> CareCircle {
    let centreKey = try devicePublicKey(keys: keys, keyName: keyName)
    return CareCircle(circleId: newId(), centreKey: centreKey)
}
