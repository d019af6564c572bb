import TandemCore
import XCTest

/// rsync's server side counts as a file transfer only when nothing in it can run anything else.
final class RsyncServerLineTests: XCTestCase {
    func testWhatRsyncClientsSendIsATransfer() {
        for line in [
            "rsync --server -logDtpre.iLsfxCIvu . logs/",                         // rsync -a logs/ host:logs/
            "rsync --server --sender -logDtpre.iLsfxCIvu . /var/log/app/",        // rsync -a host:/var/log/app/ here/
            "rsync --server -vlogDtpre.iLsfxCIvu --delete --partial . /srv/www/",
            "rsync --server -e.LsfxCIvu --no-inc-recursive --timeout=30 . a b",
            "rsync --server -vvre.iLsfxCIvu . a",
            "rsync --server -logDtpre.iLsfxCIvu --log-format=%i . logs/",
            "rsync --server -logDtprze.iLsfxCIvu --compress-level=9 --info=progress2 . backup@2026-12-04/",
        ] {
            XCTAssertTrue(RsyncServerLine.isTransfer(line), line)
        }
    }

    func testAnythingThatCouldRunAnotherCommandIsNot() {
        for line in [
            "rsync --server -logDtpre.iLsfxCIvu . logs/; rm -rf ~",
            "rsync --server -logDtpre.iLsfxCIvu . $(id)",
            "rsync --server -logDtpre.iLsfxCIvu . `id`",
            "rsync --server -logDtpre.iLsfxCIvu . 'a b'",
            "rsync --server -logDtpre.iLsfxCIvu . a\\ b",
            "rsync --server -logDtpre.iLsfxCIvu . ~root/",
            "rsync --server --daemon --config=/tmp/evil.conf . x",
            "rsync --server --rsh=sh -logDtpre.iLsfxCIvu . x",
            "rsync --server --log-file=/etc/cron.d/x . x",
            "rsync --server --timeout=3;id . x",
            // -s reads the real options (--daemon, --config=…) from stdin; these take an argument,
            // which could be the "." or a path.
            "rsync --server -s . x",
            "rsync --server -logDtprs . x",
            "rsync --server -sloDtpre.iLsfxCIvu . x",
            "rsync --server -T . x y",
            "rsync --server -B . x",
            "rsync --server -M--log-file=/tmp/x . x",
            "rsync --server -f . x",
            "rsync --server -@ . x",
            "rsync --server --protect-args . x",
            "rsync --server --secluded-args . x",
            "rsync --server -e.iLs;id . x",
            "rsync --server --no- . x",
            "rsync --server --no-x;y . x",
            // An option's value as the next word would make "." or a path its value.
            "rsync --server -ve . x y",
            "rsync --server --timeout . x",
            "rsync --server --sender=yes . x",
            "rsync --server -\u{212A} . x",
            "rsync --server -logDtpre.iLsfxCIvu . -x",
            "rsync --server -logDtpre.iLsfxCIvu .",
            "rsync --server -logDtpre.iLsfxCIvu logs/",
            "rsync --server -logDtpre.iLsfxCIvu  . logs/",
            "rsync --server -logDtpre.iLsfxCIvu . logs/\n",
            "/usr/bin/rsync --server -logDtpre.iLsfxCIvu . logs/",
            "rsync -logDtpre.iLsfxCIvu . logs/",
            "scp -t /etc/app/",
            "",
        ] {
            XCTAssertFalse(RsyncServerLine.isTransfer(line), line)
        }
    }
}
