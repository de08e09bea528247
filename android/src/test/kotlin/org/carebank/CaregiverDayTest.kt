package org.carebank

import org.carebank.ffi.AccessPurpose
import java.time.Instant
import org.carebank.ffi.BathCheck
import org.carebank.ffi.BathPlace
import org.carebank.ffi.CorrectionAction
import org.carebank.ffi.EntitlementStatus
import org.carebank.ffi.FollowUp
import org.carebank.ffi.FollowUpDone
import org.carebank.ffi.Funding
import org.carebank.ffi.Level
import org.carebank.ffi.MealMode
import org.carebank.ffi.Observations
import org.carebank.ffi.RecordBody
import org.carebank.ffi.Role
import org.carebank.ffi.Service
import org.carebank.ffi.ServiceDetail
import org.carebank.ffi.ServiceKind
import org.carebank.ffi.Visit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.After
import org.junit.Test

/** A caregiver's day on an Android phone: visits, meals (助餐), baths (助浴), follow-ups. */
class CaregiverDayTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()
    private val month = monthOf(start)

    @After
    fun closeStores() {
        village.close()
    }

    private fun meal(caregiver: Member, elder: String, at: Long, funding: Funding = Funding.SELF_PAID) =
        Service(elder, caregiver.id, at, 30, funding, ServiceDetail.Meal(MealMode.DELIVERED, 1u))

    @Test
    fun visitsMealsAndBathsAreCountedAndTheOverdueListFollows() {
        val zhang = village.elder("张大爷", cadenceDays = 7, entitledHours = 30)
        val li = village.elder("李奶奶", cadenceDays = 7)
        val liu = village.elder("刘爷爷", cadenceDays = 3)
        val wang = village.member(Role.CAREGIVER, "王芳")
        val phone = wang.store

        phone.recordVisit(
            Visit(zhang, wang.id, start, start + 30 * MINUTE, observations = Observations(health = Level.GOOD, mood = Level.FAIR)),
        )
        phone.recordService(meal(wang, zhang, start + 30 * MINUTE, Funding.GOVERNMENT))
        val visitLi = phone.recordVisit(
            Visit(li, wang.id, start + HOUR, start + 90 * MINUTE, followUps = listOf(FollowUp("送降压药", start + DAY))),
        )
        phone.recordService(
            Service(
                li, wang.id, start + 90 * MINUTE, 60, Funding.SELF_PAID,
                ServiceDetail.Bath(BathPlace.HOME, listOf(BathCheck.WATER_TEMPERATURE, BathCheck.NON_SLIP_MAT), "背部轻微发红"),
            ),
        )

        val counts = phone.personTimes(month)
        assertEquals(2uL, counts.visits)
        val byKind = counts.services.associate { it.kind to it.count }
        assertEquals(1uL, byKind[ServiceKind.MEAL])
        assertEquals(1uL, byKind[ServiceKind.BATH])
        assertEquals(0uL, byKind[ServiceKind.CLEANING])
        assertEquals(4uL, counts.total)
        assertEquals("助浴", counts.services.single { it.kind == ServiceKind.BATH }.labelZh)

        val zhangMonth = phone.elderMonth(zhang, month, AccessPurpose.CARE)
        assertEquals(listOf(start), zhangMonth.visits.map { it.checkInMs })
        assertEquals(listOf(ServiceKind.MEAL), zhangMonth.services.map { it.kind })
        assertEquals(Funding.GOVERNMENT, zhangMonth.services.single().funding)

        val use = phone.entitlementUse(month, AccessPurpose.REPORT).single()
        assertEquals(zhang, use.elderId)
        assertEquals(30L, use.usedMinutes)
        assertEquals(EntitlementStatus.UNDER_SERVED, use.status)

        // Five days on, only 刘爷爷 (every 3 days, never visited) is overdue, by two days.
        val overdue = phone.overdueVisits(Instant.now().plusMillis(5 * DAY), AccessPurpose.CARE)
        assertEquals(listOf("刘爷爷"), overdue.map { it.name })
        assertEquals(liu, overdue.single().elderId)
        assertEquals(2L, overdue.single().daysOverdue)
        assertEquals(null, overdue.single().lastVisitMs)

        val open = phone.openFollowUps(AccessPurpose.CARE).single()
        assertEquals("送降压药", open.action)
        assertEquals(visitLi, open.visitId)
        phone.followUpDone(FollowUpDone(visitLi, 0u, start + 20 * HOUR, "已送到"))
        assertTrue(phone.openFollowUps(AccessPurpose.CARE).isEmpty())
    }

    @Test
    fun mistakesAreVoidedOrAmendedAndTheTraceIsKept() {
        val zhang = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        val phone = wang.store
        phone.recordService(meal(wang, zhang, start))
        val duplicate = phone.recordService(meal(wang, zhang, start + MINUTE))
        val wrongVisit = Visit(zhang, wang.id, start, start + 5 * HOUR)
        val visitId = phone.recordVisit(wrongVisit)

        val voidId = phone.correct(duplicate, CorrectionAction.Void, "重复录入")
        phone.correct(visitId, CorrectionAction.AmendVisit(wrongVisit.copy(checkOutMs = start + 40 * MINUTE)), "离开时间录错")

        val counts = phone.personTimes(month)
        assertEquals(1uL, counts.services.single { it.kind == ServiceKind.MEAL }.count)
        assertEquals(listOf(start + 40 * MINUTE), phone.elderMonth(zhang, month, AccessPurpose.CARE).visits.map { it.checkOutMs })

        // Nothing is erased (留迹留痕): the voided record and the void itself can be read back.
        val original = phone.get(duplicate, AccessPurpose.CARE).body
        assertTrue(original is RecordBody.Service)
        val correction = phone.get(voidId, AccessPurpose.CARE).body as RecordBody.Correction
        assertEquals(duplicate, correction.targetId)
        assertEquals(CorrectionAction.Void, correction.action)
        assertEquals("重复录入", correction.reason)
        assertEquals(phone.deviceKey(), phone.get(voidId, AccessPurpose.CARE).author)
    }
}
