import XCTest
@testable import Carebank

/// Printed code cards (decision 0019): the coordinator's phone issues an elder a card of one-time
/// codes and keeps its secret; a caregiver's phone records the code the elder shows; once the
/// coordinator's phone has the record it judges the code. One test per verdict. Mirrors
/// CardCodeTest.kt.
final class CardCodeTests: XCTestCase {
    private let start = yesterdayMorning()
    private var village: TestVillage!
    private var zhang = ""
    private var li = ""
    private var wang: Member!
    private var card: CardSheet!

    override func setUpWithError() throws {
        village = try TestVillage()
        zhang = try village.elder("张大爷")
        li = try village.elder("李奶奶")
        wang = try village.member(.caregiver, "王芳")
        card = try village.coordinator.store.issueCard(elderId: zhang, codes: 10)
    }

    /// The caregiver records a meal for `elder` at `at`, confirmed by `code`; returns its id.
    private func meal(_ elder: String, _ at: Int64, _ code: String) throws -> String {
        let confirmation = Confirmation(by: .elder, memberId: nil, method: .cardCode, atMs: at, cardCode: code)
        return try wang.store.recordService(service: Service(
            elderId: elder, providerId: wang.id, startedMs: at, durationMinutes: 30, funding: .selfPaid,
            detail: .meal(mode: .delivered, portions: 1), confirmation: confirmation))
    }

    /// The coordinator's phone's check of `service`, after it took the caregiver's records.
    private func check(_ service: String) throws -> CodeCheck {
        let coordinator = village.coordinator.store
        _ = try coordinator.mergeFrom(other: wang.store)
        let checks = try coordinator.cardConfirmations(monthOf: Date(carebankMs: start))
        return try XCTUnwrap(checks.first { $0.serviceId == service })
    }

    func testTheNextCodeOfTheEldersCardIsValidAndOnlyTheIssuingPhoneCanTellSo() throws {
        try village.sync(wang)
        let service = try meal(zhang, start, card.codes[0])
        let onThePhone = try wang.store.cardConfirmations(monthOf: Date(carebankMs: start))
        XCTAssertEqual(onThePhone.first { $0.serviceId == service }?.verdict, .unchecked)
        XCTAssertThrowsError(try wang.store.cardSheet(cardId: card.card.cardId)) { error in
            guard case CareError.NotAuthorised = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try wang.store.issueCard(elderId: zhang, codes: 10)) { error in
            guard case CareError.NotAuthorised = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try check(service).verdict, .valid)
        XCTAssertEqual(try village.coordinator.store.cardSheet(cardId: card.card.cardId).codes, card.codes)
    }

    func testACodeUsedTwiceIsReused() throws {
        try village.sync(wang)
        let first = try meal(zhang, start, card.codes[0])
        let again = try meal(zhang, start + hour, card.codes[0])
        let reused = try check(again)
        XCTAssertEqual(reused.verdict, .reused)
        XCTAssertEqual(reused.earlierServiceId, first)
    }

    func testAnEarlierCodeAfterALaterOneIsOutOfOrder() throws {
        try village.sync(wang)
        _ = try meal(zhang, start, card.codes[2])
        let back = try meal(zhang, start + hour, card.codes[1])
        XCTAssertEqual(try check(back).verdict, .outOfOrder)
    }

    func testAnotherEldersCodeIsWrongElder() throws {
        let theirs = try village.coordinator.store.issueCard(elderId: li, codes: 10)
        try village.sync(wang)
        let service = try meal(zhang, start, theirs.codes[0])
        let wrong = try check(service)
        XCTAssertEqual(wrong.verdict, .wrongElder)
        XCTAssertEqual(wrong.cardId, theirs.card.cardId)
    }

    func testACodeOfAWithdrawnCardIsWithdrawn() throws {
        _ = try village.coordinator.store.withdrawCard(cardId: card.card.cardId, fromMs: nil, reason: .lost)
        try village.sync(wang)
        let service = try meal(zhang, start, card.codes[0])
        XCTAssertEqual(try check(service).verdict, .withdrawn)
    }

    func testACodeThatIsNotSixDigitsIsRefusedWhenRecorded() throws {
        try village.sync(wang)
        XCTAssertThrowsError(try meal(zhang, start, "12345")) { error in
            guard case let CareError.InvalidInput(_, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("six digits"), reason)
        }
    }
}
