package org.carebank

import org.carebank.ffi.AccessPurpose
import java.io.File
import java.nio.file.Files
import javax.crypto.KeyGenerator
import org.carebank.ffi.CareException
import org.carebank.ffi.CareStore
import org.carebank.ffi.Enrolment
import org.carebank.ffi.Funding
import org.carebank.ffi.MealMode
import org.carebank.ffi.ProgressUpdate
import org.carebank.ffi.RecordBody
import org.carebank.ffi.Role
import org.carebank.ffi.Service
import org.carebank.ffi.ServiceDetail
import org.carebank.ffi.Visit
import org.carebank.ffi.newId
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Phones that worked offline merge without losing anything, store to store in one process
 * (bundle files: [SyncTest]; the relay: [RelayTest]).
 */
class MergeTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()
    private val month = monthOf(start)

    @After
    fun closeStores() {
        village.close()
    }

    private fun meal(by: Member, elder: String, at: Long) =
        Service(elder, by.id, at, 30, Funding.SELF_PAID, ServiceDetail.Meal(MealMode.DINING_TABLE, 1u))

    @Test
    fun twoPhonesThatWorkedOfflineConvergeWhicheverWayTheyMerge() {
        val elder = village.elder("张大爷")
        val a = village.member(Role.CAREGIVER, "王芳")
        val b = village.member(Role.VOLUNTEER, "小李")
        a.store.recordVisit(Visit(elder, a.id, start, start + 30 * MINUTE))
        a.store.recordService(meal(a, elder, start + 30 * MINUTE))
        val fromB = b.store.recordService(meal(b, elder, start + 5 * HOUR))

        val intoA = a.store.mergeFrom(b.store)
        assertTrue(fromB in intoA.added)
        assertTrue(intoA.rejected.isEmpty())
        b.store.mergeFrom(a.store)

        val seenByA = a.store.personTimes(month)
        assertEquals(seenByA, b.store.personTimes(month))
        assertEquals(3uL, seenByA.total)
        // Merging again changes nothing.
        assertTrue(a.store.mergeFrom(b.store).added.isEmpty())
        // Reading an elder's month is logged on each phone (an access-log record of its own).
        assertEquals(a.store.elderMonth(elder, month, AccessPurpose.CARE), b.store.elderMonth(elder, month, AccessPurpose.CARE))
        assertEquals(1, a.store.mergeFrom(b.store).added.size)
    }

    @Test
    fun progressIsReportedAndACancelledMergeKeepsItsWorkAndResumes() {
        val elder = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        wang.store.recordVisit(Visit(elder, wang.id, start, start + 30 * MINUTE))
        val coordinator = village.coordinator.store

        val seen = mutableListOf<ProgressUpdate>()
        coordinator.mergeFrom(wang.store) { seen += it }
        assertTrue(seen.isNotEmpty())
        assertEquals((1..seen.size).map { it.toULong() }, seen.map { it.done })
        assertTrue(seen.all { it.total == seen.size.toULong() && it.stage == "merge" })

        val phone = village.strangerPhone()
        val before = CancellationFlag().apply { cancel() }
        assertThrows(CareException.Cancelled::class.java) { phone.mergeFrom(coordinator, before) {} }
        assertEquals(0uL, phone.personTimes(month).total)

        // Cancelled after the first document: that document's records are kept.
        val flag = CancellationFlag()
        assertThrows(CareException.Cancelled::class.java) {
            phone.mergeFrom(coordinator, flag) { flag.cancel() }
        }
        assertFalse(phone.trustedKeys().none { it.role == "caregiver" })
        // The next merge does the rest, if any: the phone now holds every record. Outside the
        // circle's keys it reads none of the care records (they travel sealed).
        phone.mergeFrom(coordinator)
        assertTrue(phone.mergeFrom(coordinator).added.isEmpty())
        assertEquals(0uL, phone.personTimes(month).total)
        assertEquals(1uL, coordinator.personTimes(month).total)
    }

    @Test
    fun aStoreOnDiskKeepsItsRecordsAndItsSealedKeyAcrossRestarts() {
        val elder = village.elder("张大爷")
        val dir = Files.createTempDirectory("carebank").toFile()
        try {
            val wrappingKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
            val keys = WrappedFileKeyStore(File(dir, "keys")) { wrappingKey }
            val path = File(dir, "store.db").path
            val (deviceKey, visitId) = CareStore.open(path, village.circle, keys, "device").use { phone ->
                val member = newId()
                village.coordinator.store.enrol(Enrolment(member, "王芳", Role.CAREGIVER, village.pointId, phone.deviceKey()))
                phone.mergeFrom(village.coordinator.store)
                phone.deviceKey() to phone.recordVisit(Visit(elder, member, start, start + 30 * MINUTE))
            }

            CareStore.open(path, village.circle, keys, "device").use { phone ->
                assertEquals(deviceKey, phone.deviceKey())
                assertTrue(phone.get(visitId, AccessPurpose.CARE).body is RecordBody.Visit)
                assertEquals(1uL, phone.personTimes(month).visits)
            }

            // The secret on disk is sealed: with another wrapping key it cannot be opened.
            val sealed = File(dir, "keys/device.sealed").readBytes()
            val otherKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
            val stolen = WrappedFileKeyStore(File(dir, "keys")) { otherKey }
            assertThrows(CareException.KeyStorage::class.java) { CareStore.open(path, village.circle, stolen, "device") }
            assertArrayEquals(sealed, File(dir, "keys/device.sealed").readBytes())
        } finally {
            dir.deleteRecursively()
        }
    }
}
