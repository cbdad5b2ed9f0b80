using HpcCampaign.Engine.Synchrotron;

namespace HpcCampaign.Tests.Synchrotron;

/// <summary>Unit files go to a temp folder; systemctl/schtasks are never run here (enable = false).</summary>
public class RegistrationTests
{
    private static RegistrationRequest Request(string dir, SynchrotronTask task, SynchrotronScheduler scheduler, bool service) =>
        new("hpccampaign-synchrotron-" + task.ToString().ToLowerInvariant(), task, scheduler, service, TimeSpan.FromHours(6),
            "/etc/hpcc/sync's.yml", "/opt/hpcc/HpcCampaign.psd1", "/usr/bin/pwsh", dir, 4);

    [Fact]
    public void ServiceTimerAlertAndScheduledTaskUnits()
    {
        var dir = TestEnv.NewTempDir();
        var service = SyncRegistration.Plan(Request(dir, SynchrotronTask.Sync, SynchrotronScheduler.Systemd, true));
        Assert.Equal("SystemdService", service.Kind);
        var unit = Assert.Single(service.Contents);
        Assert.Contains("Type=simple", unit);
        Assert.Contains("ExecStart=/usr/bin/pwsh -NoProfile -NonInteractive -Command \"Import-Module '/opt/hpcc/HpcCampaign.psd1'; " +
                        "Sync-SynchrotronEpn -ConfigPath '/etc/hpcc/sync''s.yml' -ThrottleLimit 4 -RepeatEvery '06:00:00'\"", unit);
        Assert.Contains("WantedBy=default.target", unit);

        var timer = SyncRegistration.Plan(Request(dir, SynchrotronTask.Sync, SynchrotronScheduler.Systemd, false));
        Assert.Equal("SystemdTimer", timer.Kind);
        Assert.Equal(2, timer.Files.Length);
        Assert.Contains("Type=oneshot", timer.Contents[0]);
        Assert.DoesNotContain("RepeatEvery", timer.Contents[0]);
        Assert.Contains("OnUnitActiveSec=21600s", timer.Contents[1]);

        var alert = SyncRegistration.Plan(Request(dir, SynchrotronTask.Alert, SynchrotronScheduler.Systemd, false));
        Assert.Contains("Send-SynchrotronEpnAlert -ConfigPath", alert.Contents[0]);
        Assert.Contains("OnCalendar=*-*-* 01:00:00", alert.Contents[1]);

        var task = SyncRegistration.Plan(Request(dir, SynchrotronTask.Sync, SynchrotronScheduler.TaskScheduler, false));
        Assert.Equal("ScheduledTask", task.Kind);
        Assert.Contains("<Interval>PT6H</Interval>", task.Contents[0]);
        Assert.Contains("&apos;/etc/hpcc/sync&apos;&apos;s.yml&apos;", task.Contents[0]);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void ApplyWritesTheFilesAndRefusesToOverwriteWithoutForce()
    {
        var dir = TestEnv.NewTempDir();
        var plan = SyncRegistration.Plan(Request(dir, SynchrotronTask.Sync, SynchrotronScheduler.Systemd, false));
        var written = SyncRegistration.Apply(plan, SynchrotronScheduler.Systemd, enable: false, force: false, NullSink.Instance);
        Assert.False(written.Enabled);
        Assert.Equal(plan.Contents[1], File.ReadAllText(Path.Combine(dir, "hpccampaign-synchrotron-sync.timer")));
        var ex = Assert.Throws<HpcException>(() => SyncRegistration.Apply(plan, SynchrotronScheduler.Systemd, false, false, NullSink.Instance));
        Assert.Equal("RegistrationExists", ex.ErrorId);
        SyncRegistration.Apply(plan, SynchrotronScheduler.Systemd, false, true, NullSink.Instance);
        Assert.Equal(2, Directory.GetFiles(dir).Length);
    }
}
