import XCTest
@testable import Carebank

/// Phones sync through a carebank relay on loopback. Start one for a circle and pass it in the
/// environment: `CAREBANK_RELAY_URL`, `CAREBANK_RELAY_CIRCLE` and `CAREBANK_RELAY_CENTRE_SECRET`
/// (the centre's ed25519 seed, hex), as `scripts/mobile.sh` does for the JVM tests; without them
/// these tests are skipped.
final class RelayTests: XCTestCase {
    private var village: TestVillage!
    private var url = ""
    private let start = yesterdayMorning()

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["CAREBANK_RELAY_URL"], let circle = env["CAREBANK_RELAY_CIRCLE"],
              let secret = env["CAREBANK_RELAY_CENTRE_SECRET"] else {
            throw XCTSkip("no relay: set CAREBANK_RELAY_URL, CAREBANK_RELAY_CIRCLE, CAREBANK_RELAY_CENTRE_SECRET")
        }
        self.url = url
        village = try TestVillage(circleId: circle, centreSecret: Self.hex(secret))
    }

    func testAClaimAndItsConfirmationTravelThroughTheRelay() throws {
        let elder = try village.elder("张大爷")
        let caregiver = try village.member(.caregiver, "王芳")
        let volunteer = try village.member(.volunteer, "小李")
        _ = try village.centre.syncWithRelay(url: url)
        var updates: [ProgressUpdate] = []
        try village.coordinator.store.syncWithRelay(url) { updates.append($0) }
        XCTAssertFalse(updates.isEmpty)
        XCTAssertTrue(updates.allSatisfy { $0.stage == "sync" })

        let service = try volunteer.store.recordService(service: Service(
            elderId: elder, providerId: volunteer.id, startedMs: start, durationMinutes: 90,
            funding: .timeBank, detail: .meal(mode: .diningTable, portions: 1)))
        let claim = try volunteer.store.claimHours(serviceId: service, minutes: 90)
        XCTAssertGreaterThan(try volunteer.store.syncWithRelay(url: url).bytesSent, 0)

        XCTAssertGreaterThanOrEqual(try caregiver.store.syncWithRelay(url: url).recordsReceived, 2)
        guard case .ledger = try caregiver.store.get(recordId: claim, purpose: .care).body else {
            return XCTFail("the claim did not arrive")
        }
        _ = try caregiver.store.confirmClaim(claimId: claim, method: .printedCard)
        _ = try caregiver.store.syncWithRelay(url: url)

        _ = try volunteer.store.syncWithRelay(url: url)
        XCTAssertEqual(try volunteer.store.balance(memberId: volunteer.id).availableMinutes, 90)
        XCTAssertEqual(try volunteer.store.syncWithRelay(url: url).recordsReceived, 0)
    }

    func testAnUnreachableRelayIsANetworkErrorAndACancelledSyncStops() throws {
        let phone = village.coordinator.store
        assertCareError(try phone.syncWithRelay(url: "http://127.0.0.1:1")) {
            if case .Network = $0 { return true } else { return false }
        }
        // An address that is not a URL is the form's mistake, not the network's.
        assertCareError(try phone.syncWithRelay(url: "relay.example:8443")) {
            if case .InvalidInput(let field, _) = $0 { return field == "url" } else { return false }
        }
        let flag = CancellationFlag()
        flag.cancel()
        assertCareError(try phone.syncWithRelay(url, cancel: flag) { _ in }) {
            if case .Cancelled = $0 { return true } else { return false }
        }
    }

    private static func hex(_ text: String) -> Data {
        var bytes = Data()
        var index = text.startIndex
        while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
            bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}
