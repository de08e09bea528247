import Foundation
import XCTest
@testable import Carebank

/// The store file is encrypted (SQLCipher) under a key the app's `SecureKeyStore` (the Keychain)
/// keeps under `store-key`: made on the first open, loaded on the next ones. A wrong or missing
/// key is `CareError.KeyStorage`, and the file is left as it was. Mirrors AtRestTest.kt.
final class AtRestTests: XCTestCase {
    private func storeFiles(_ dir: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let url = dir.appendingPathComponent(name)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue {
                files[name] = try Data(contentsOf: url)
            }
        }
        return files
    }

    private func overdueNames(_ phone: CareStore, _ elder: String) throws -> [String] {
        try phone.overdueVisits(now: Date().addingTimeInterval(30 * 86_400), purpose: .care).filter { $0.elderId == elder }.map { $0.name }
    }

    func testAStoreIsEncryptedUnderAKeyFromTheKeyStoreAndAWrongKeyChangesNothing() throws {
        let village = try TestVillage()
        let name = "龙凤呈祥Zhuangxiaomei"
        let elder = try village.elder(name)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = MemoryKeyStore()
        let path = dir.appendingPathComponent("store.db").path

        do {
            let phone = try CareStore.open(path: path, circle: village.circle, keys: keys, keyName: "device")
            // Care records travel sealed for the circle's devices: the phone is enrolled first.
            try village.enrolPhone(phone, name: "王芳")
            _ = try phone.mergeFrom(other: village.coordinator.store)
            XCTAssertEqual(try overdueNames(phone, elder), [name])
            XCTAssertFalse(try storeFiles(dir).values.contains { $0.range(of: Data(name.utf8)) != nil })
        }
        XCTAssertEqual(try keys.load(name: "store-key")?.count, 32)
        let files = try storeFiles(dir)
        XCTAssertNotEqual(files["store.db"]?.prefix(16), Data("SQLite format 3\0".utf8))
        XCTAssertFalse(files.values.contains { $0.range(of: Data(name.utf8)) != nil })

        do {
            let reopened = try CareStore.open(path: path, circle: village.circle, keys: keys, keyName: "device")
            XCTAssertEqual(try overdueNames(reopened, elder), [name])
        }

        // Maintenance when idle: each document in one snapshot, the log folded into the
        // encrypted file; nothing readable appears and nothing is lost.
        do {
            let phone = try CareStore.open(path: path, circle: village.circle, keys: keys, keyName: "device")
            let done = try phone.runMaintenance()
            XCTAssertGreaterThanOrEqual(done.chunksMerged, 2 * done.documentsCompacted)
            XCTAssertEqual(try phone.runMaintenance().documentsCompacted, 0)
            let wal = try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
            XCTAssertEqual(wal ?? 0, 0)
            XCTAssertFalse(try storeFiles(dir).values.contains { $0.range(of: Data(name.utf8)) != nil })
            XCTAssertEqual(try overdueNames(phone, elder), [name])
        }

        // Another key store: the same device key, another store key; or none at all.
        let other = MemoryKeyStore()
        try other.save(name: "device", secret: try XCTUnwrap(keys.load(name: "device")))
        let lost = MemoryKeyStore()
        try lost.save(name: "device", secret: try XCTUnwrap(keys.load(name: "device")))
        try other.save(name: "store-key", secret: Data(repeating: 7, count: 32))
        let before = try storeFiles(dir)
        assertCareError(try CareStore.open(path: path, circle: village.circle, keys: other, keyName: "device")) {
            if case let .KeyStorage(reason) = $0 { return reason.contains("wrong key for this store") } else { return false }
        }
        assertCareError(try CareStore.open(path: path, circle: village.circle, keys: lost, keyName: "device")) {
            if case .KeyStorage = $0 { return true } else { return false }
        }
        XCTAssertNil(try lost.load(name: "store-key"))
        XCTAssertEqual(try storeFiles(dir), before)
    }
}
