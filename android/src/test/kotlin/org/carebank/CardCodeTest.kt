package org.carebank

import org.carebank.ffi.CareException
import org.carebank.ffi.CardSheet
import org.carebank.ffi.CodeVerdict
import org.carebank.ffi.ConfirmMethod
import org.carebank.ffi.Confirmation
import org.carebank.ffi.ConfirmedBy
import org.carebank.ffi.Funding
import org.carebank.ffi.MealMode
import org.carebank.ffi.Role
import org.carebank.ffi.Service
import org.carebank.ffi.ServiceDetail
import org.carebank.ffi.WithdrawalReason
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Printed code cards (decision 0019): the coordinator's phone issues an elder a card of one-time
 * codes and keeps its secret; a caregiver's phone records the code the elder shows; once the
 * coordinator's phone has the record it judges the code. One test per verdict.
 */
class CardCodeTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()
    private val zhang = village.elder("张大爷")
    private val li = village.elder("李奶奶")
    private val wang = village.member(Role.CAREGIVER, "王芳")
    private val coordinator = village.coordinator.store
    private val card: CardSheet = coordinator.issueCard(zhang, 10u)

    @After
    fun closeStores() {
        village.close()
    }

    /** The caregiver records a meal for [elder] at [at], confirmed by [code]; returns its id. */
    private fun meal(elder: String, at: Long, code: String): String {
        val confirmation = Confirmation(ConfirmedBy.ELDER, null, ConfirmMethod.CARD_CODE, at, cardCode = code)
        return wang.store.recordService(
            Service(elder, wang.id, at, 30, Funding.SELF_PAID, ServiceDetail.Meal(MealMode.DELIVERED, 1u), confirmation),
        )
    }

    /** The coordinator's phone takes the caregiver's records and judges the code of [service]. */
    private fun verdict(service: String): CodeVerdict {
        coordinator.mergeFrom(wang.store)
        return coordinator.cardConfirmations(monthOf(start)).single { it.serviceId == service }.verdict
    }

    @Test
    fun theNextCodeOfTheEldersCardIsValidAndOnlyTheIssuingPhoneCanTellSo() {
        village.sync(wang)
        val service = meal(zhang, start, card.codes[0])
        val onThePhone = wang.store.cardConfirmations(monthOf(start)).single { it.serviceId == service }
        assertEquals(CodeVerdict.UNCHECKED, onThePhone.verdict)
        assertThrows(CareException.NotAuthorised::class.java) { wang.store.cardSheet(card.card.cardId) }
        assertThrows(CareException.NotAuthorised::class.java) { wang.store.issueCard(zhang, 10u) }
        assertEquals(CodeVerdict.VALID, verdict(service))
        assertEquals(card.codes, coordinator.cardSheet(card.card.cardId).codes)
    }

    @Test
    fun aCodeUsedTwiceIsReused() {
        village.sync(wang)
        val first = meal(zhang, start, card.codes[0])
        val again = meal(zhang, start + HOUR, card.codes[0])
        assertEquals(CodeVerdict.REUSED, verdict(again))
        val check = coordinator.cardConfirmations(monthOf(start)).single { it.serviceId == again }
        assertEquals(first, check.earlierServiceId)
    }

    @Test
    fun anEarlierCodeAfterALaterOneIsOutOfOrder() {
        village.sync(wang)
        meal(zhang, start, card.codes[2])
        val back = meal(zhang, start + HOUR, card.codes[1])
        assertEquals(CodeVerdict.OUT_OF_ORDER, verdict(back))
    }

    @Test
    fun anotherEldersCodeIsWrongElder() {
        val theirs = coordinator.issueCard(li, 10u)
        village.sync(wang)
        val service = meal(zhang, start, theirs.codes[0])
        assertEquals(CodeVerdict.WRONG_ELDER, verdict(service))
        val check = coordinator.cardConfirmations(monthOf(start)).single { it.serviceId == service }
        assertEquals(theirs.card.cardId, check.cardId)
    }

    @Test
    fun aCodeOfAWithdrawnCardIsWithdrawn() {
        val withdrawal = coordinator.withdrawCard(card.card.cardId, null, WithdrawalReason.LOST)
        assertTrue(withdrawal.isNotEmpty())
        village.sync(wang)
        val service = meal(zhang, start, card.codes[0])
        assertEquals(CodeVerdict.WITHDRAWN, verdict(service))
    }

    @Test
    fun aCodeThatIsNotSixDigitsIsRefusedWhenRecorded() {
        village.sync(wang)
        val refused = assertThrows(CareException.InvalidInput::class.java) { meal(zhang, start, "12345") }
        assertTrue(refused.reason, refused.reason.contains("six digits"))
    }
}
