package org.carebank

import org.carebank.ffi.AccessPurpose
import java.io.File
import java.nio.file.Files
import org.carebank.ffi.CareException
import org.carebank.ffi.CareStore
import org.carebank.ffi.Funding
import org.carebank.ffi.MealMode
import org.carebank.ffi.PhoneChannel
import org.carebank.ffi.Role
import org.carebank.ffi.Service
import org.carebank.ffi.ServiceDetail
import org.carebank.ffi.Visit
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Two phones that meet sync over the app's channel (Nearby Connections, Bluetooth); two that
 * never meet sync through a bundle file (SD card, a chat app).
 */
class SyncTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()
    private val month = monthOf(start)

    @After
    fun closeStores() {
        village.close()
    }

    @Test
    fun twoStoresSyncThroughABundleFileAndTheReplyHoldsOnlyWhatIsMissing() {
        val elder = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        val coordinator = village.coordinator.store
        wang.store.recordVisit(Visit(elder, wang.id, start, start + 30 * MINUTE))
        wang.store.recordService(
            Service(elder, wang.id, start + 30 * MINUTE, 30, Funding.SELF_PAID, ServiceDetail.Meal(MealMode.DELIVERED, 1u)),
        )
        coordinator.recordVisit(Visit(elder, village.coordinator.id, start + 3 * HOUR, start + 4 * HOUR))

        val dir = Files.createTempDirectory("carebank-bundle").toFile()
        try {
            val file = File(dir, "wang.cbundle").apply { writeBytes(wang.store.exportBundle()) }
            val imported = coordinator.importBundle(file.readBytes())
            assertTrue(imported.recordsAdded >= 2uL)
            // Importing the same file again changes nothing.
            assertEquals(0uL, coordinator.importBundle(file.readBytes()).recordsAdded)
            assertEquals(3uL, coordinator.personTimes(month).total)

            // The reply to Wang's phone leaves out what Wang's bundle showed it holds.
            val everything = coordinator.exportBundle()
            val reply = File(dir, "reply.cbundle").apply { writeBytes(coordinator.exportBundle(wang.store.peerName())) }
            assertTrue(reply.length() < everything.size)
            wang.store.importBundle(reply.readBytes())
            assertEquals(coordinator.personTimes(month), wang.store.personTimes(month))
            assertEquals(coordinator.elderMonth(elder, month, AccessPurpose.CARE), wang.store.elderMonth(elder, month, AccessPurpose.CARE))

            // A file that is not a bundle of this circle is refused, naming the bundle.
            val e = assertThrows(CareException.InvalidInput::class.java) {
                wang.store.importBundle(TestVillage().use { it.centre.exportBundle() })
            }
            assertEquals("bundle", e.field)
        } finally {
            dir.deleteRecursively()
        }
    }

    @Test
    fun twoPhonesSyncOverTheAppsChannelAndAPhoneOutsideTheCircleIsRefused() {
        val elder = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        val li = village.member(Role.VOLUNTEER, "李明")
        // Wang's phone learns of Li's enrolment (both phones must trust each other).
        village.sync(wang)
        wang.store.recordVisit(Visit(elder, wang.id, start, start + 30 * MINUTE))

        // The app's link: each frame goes to the other phone, which answers with answerSync.
        val toLi = object : PhoneChannel {
            override fun exchange(frame: ByteArray): ByteArray = li.store.answerSync(frame)
        }
        val report = wang.store.syncWithPhone(toLi)
        assertEquals(2u, report.roundTrips)
        assertEquals(wang.store.personTimes(month), li.store.personTimes(month))
        assertEquals(1uL, li.store.personTimes(month).total)
        // Nothing new: one round trip.
        assertEquals(1u, wang.store.syncWithPhone(toLi).roundTrips)

        // A phone whose key the circle never enrolled gets nothing from Wang's phone.
        val stranger = CareStore.openInMemory(village.circle, village.keys, "stranger")
        val toWang = object : PhoneChannel {
            override fun exchange(frame: ByteArray): ByteArray = wang.store.answerSync(frame)
        }
        assertThrows(CareException.NotAuthorised::class.java) { stranger.syncWithPhone(toWang) }
        assertEquals(0uL, stranger.personTimes(month).total)
        stranger.close()

        // A link that drops is a network error; the next sync resumes.
        val dropped = object : PhoneChannel {
            override fun exchange(frame: ByteArray): ByteArray = throw java.io.IOException("Bluetooth off")
        }
        assertThrows(CareException.Network::class.java) { li.store.syncWithPhone(dropped) }
    }
}
