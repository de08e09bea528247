import XCTest
@testable import Carebank

/// Two phones that never meet sync through a bundle file (AirDrop, a chat app, an SD card).
final class SyncTests: XCTestCase {
    private var village: TestVillage!
    private let start = yesterdayMorning()

    override func setUpWithError() throws {
        village = try TestVillage()
    }

    func testTwoStoresSyncThroughABundleFileAndTheReplyHoldsOnlyWhatIsMissing() throws {
        let month = carebankMonth(of: Date(carebankMs: start))
        let elder = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        let coordinator = village.coordinator.store
        _ = try wang.store.recordVisit(visit: Visit(elderId: elder, caregiverId: wang.id, checkInMs: start, checkOutMs: start + 30 * minute))
        _ = try wang.store.recordService(service: Service(
            elderId: elder, providerId: wang.id, startedMs: start + 30 * minute, durationMinutes: 30,
            funding: .selfPaid, detail: .meal(mode: .delivered, portions: 1)))
        _ = try coordinator.recordVisit(visit: Visit(elderId: elder, caregiverId: village.coordinator.id,
                                                     checkInMs: start + 3 * hour, checkOutMs: start + 4 * hour))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("wang.cbundle")
        try wang.store.exportBundle().write(to: file)
        let imported = try coordinator.importBundle(bundle: Data(contentsOf: file))
        XCTAssertGreaterThanOrEqual(imported.recordsAdded, 2)
        XCTAssertEqual(try coordinator.importBundle(bundle: Data(contentsOf: file)).recordsAdded, 0)
        XCTAssertEqual(try coordinator.personTimes(month: month).total, 3)

        let everything = try coordinator.exportBundle()
        let reply = try coordinator.exportBundle(sincePeer: try wang.store.peerName())
        XCTAssertLessThan(reply.count, everything.count)
        _ = try wang.store.importBundle(bundle: reply)
        XCTAssertEqual(try wang.store.personTimes(month: month), try coordinator.personTimes(month: month))

        let foreign = try TestVillage().centre.exportBundle()
        assertCareError(try wang.store.importBundle(bundle: foreign)) {
            if case let .InvalidInput(field, _) = $0 { return field == "bundle" } else { return false }
        }
    }
}
