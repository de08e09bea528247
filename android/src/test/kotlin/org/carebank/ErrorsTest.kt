package org.carebank

import org.carebank.ffi.AccessPurpose
import org.carebank.ffi.CareException
import org.carebank.ffi.CareLevel
import org.carebank.ffi.Consent
import org.carebank.ffi.ConsentRelation
import org.carebank.ffi.CareStore
import org.carebank.ffi.ConsentPurpose
import org.carebank.ffi.Elder
import org.carebank.ffi.Level
import org.carebank.ffi.Observations
import org.carebank.ffi.PlatformException
import org.carebank.ffi.Role
import org.carebank.ffi.SecureKeyStore
import org.carebank.ffi.Visit
import org.carebank.ffi.newId
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** Errors reach Kotlin as `CareException` subclasses a UI can act on, never as crashes. */
class ErrorsTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()

    @After
    fun closeStores() {
        village.close()
    }

    private fun visit(elder: String, caregiver: Member) = Visit(elder, caregiver.id, start, start + 30 * MINUTE)

    @Test
    fun badInputNamesTheFieldAtFault() {
        val elder = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        val cases = mapOf(
            "elder_id" to { wang.store.recordVisit(visit("张大爷", wang)) },
            "check_out_ms" to { wang.store.recordVisit(visit(elder, wang).copy(checkOutMs = start - MINUTE)) },
            "check_in_ms" to { wang.store.recordVisit(visit(elder, wang).copy(checkInMs = -1)) },
            "month" to { wang.store.personTimes("2026-13") },
            "now_ms" to { wang.store.overdueVisits(Long.MAX_VALUE, AccessPurpose.CARE) },
        )
        for ((field, call) in cases) {
            val e = assertThrows(CareException.InvalidInput::class.java) { call() }
            assertEquals(field, e.field)
            assertTrue(e.message!!.isNotEmpty())
        }
    }

    @Test
    fun unknownRecordsAreNotFound() {
        val wang = village.member(Role.CAREGIVER, "王芳")
        val unknown = newId()
        val e = assertThrows(CareException.NotFound::class.java) { wang.store.recordVisit(visit(unknown, wang)) }
        assertEquals("elder", e.what)
        assertEquals(unknown, e.id)
        assertThrows(CareException.NotFound::class.java) { wang.store.get(newId(), AccessPurpose.CARE) }
    }

    @Test
    fun rolesAndEnrolmentAreEnforced() {
        val elder = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        val consent = Consent("本人", ConsentRelation.ELDER, start, listOf(ConsentPurpose.CARE_RECORDS))
        val li = Elder(newId(), village.pointId, "李奶奶", 1941u, emptyList(), CareLevel.ABLE, 7u, 0u, null, consent)
        val e = assertThrows(CareException.NotAuthorised::class.java) { wang.store.enrolElder(li) }
        assertTrue(e.reason.contains("coordinator"))
        val stranger = village.strangerPhone()
        stranger.mergeFrom(village.coordinator.store)
        assertThrows(CareException.NotAuthorised::class.java) { stranger.recordVisit(visit(elder, wang)) }
    }

    @Test
    fun healthObservationsNeedTheEldersConsent() {
        val elder = village.elder("张大爷", purposes = listOf(ConsentPurpose.CARE_RECORDS))
        val wang = village.member(Role.CAREGIVER, "王芳")
        val e = assertThrows(CareException.ConsentMissing::class.java) {
            wang.store.recordVisit(visit(elder, wang).copy(observations = Observations(health = Level.POOR)))
        }
        assertTrue(e.purpose.contains("health"))
        wang.store.recordVisit(visit(elder, wang).copy(observations = Observations(mood = Level.GOOD)))
    }

    @Test
    fun aFailingKeystoreIsAKeyStorageError() {
        val locked = object : SecureKeyStore {
            override fun load(name: String): ByteArray? = throw PlatformException.Failed("Keystore is locked")
            override fun save(name: String, secret: ByteArray) = throw PlatformException.Failed("Keystore is locked")
        }
        val e = assertThrows(CareException.KeyStorage::class.java) { CareStore.openInMemory(village.circle, locked, "device") }
        assertTrue(e.reason.contains("Keystore is locked"))

        // An exception the interface does not declare is still an error, not a crash.
        val buggy = object : SecureKeyStore {
            override fun load(name: String): ByteArray? = throw IllegalStateException("bug in the app")
            override fun save(name: String, secret: ByteArray) = Unit
        }
        assertThrows(CareException.KeyStorage::class.java) { CareStore.openInMemory(village.circle, buggy, "device") }

        val truncated = MemoryKeyStore().apply { save("device", byteArrayOf(1, 2, 3)) }
        assertThrows(CareException.KeyStorage::class.java) { CareStore.openInMemory(village.circle, truncated, "device") }
    }
}
