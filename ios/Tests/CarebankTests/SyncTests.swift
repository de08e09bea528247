import XCTest
@testable import Carebank

/// Two phones that meet sync over the app's channel (Multipeer Connectivity, Bluetooth); two that
/// never meet sync through a bundle file (AirDrop, a chat app, an SD card).
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

    func testTwoPhonesSyncOverTheAppsChannelAndAPhoneOutsideTheCircleIsRefused() throws {
        let month = carebankMonth(of: Date(carebankMs: start))
        let elder = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        let li = try village.member(.volunteer, "李明")
        // Wang's phone learns of Li's enrolment (both phones must trust each other).
        try village.sync(wang)
        _ = try wang.store.recordVisit(visit: Visit(elderId: elder, caregiverId: wang.id, checkInMs: start, checkOutMs: start + 30 * minute))

        // The app's link: each frame goes to the other phone, which answers with answerSync.
        let toLi = Channel { try li.store.answerSync(frame: $0) }
        let report = try wang.store.syncWithPhone(channel: toLi)
        XCTAssertEqual(report.roundTrips, 2)
        XCTAssertEqual(try li.store.personTimes(month: month), try wang.store.personTimes(month: month))
        XCTAssertEqual(try li.store.personTimes(month: month).total, 1)
        XCTAssertEqual(try wang.store.syncWithPhone(channel: toLi).roundTrips, 1)

        // A phone whose key the circle never enrolled gets nothing from Wang's phone.
        let stranger = try CareStore.openInMemory(circle: village.circle, keys: village.keys, keyName: "stranger")
        let toWang = Channel { try wang.store.answerSync(frame: $0) }
        assertCareError(try stranger.syncWithPhone(channel: toWang)) {
            if case .NotAuthorised = $0 { return true } else { return false }
        }
        XCTAssertEqual(try stranger.personTimes(month: month).total, 0)
    }
}

/// A phone link in the test process: each frame goes straight to the other phone's store.
private final class Channel: PhoneChannel {
    private let answer: (Data) throws -> Data
    init(_ answer: @escaping (Data) throws -> Data) { self.answer = answer }
    func exchange(frame: Data) throws -> Data { try answer(frame) }
}
