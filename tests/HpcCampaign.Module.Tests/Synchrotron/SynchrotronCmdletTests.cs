using System.Management.Automation;

namespace HpcCampaign.Tests.Synchrotron;

/// <summary>
/// The cmdlets in a real runspace against the loopback sshd (rsync), PortalStandIn (the portal is external) and the
/// STARTTLS+AUTH SMTP sink.
/// </summary>
public class SynchrotronCmdletTests
{
    private const string Ns = "HpcCampaign.Commands.Synchrotron.";

    private static (SynchrotronWorld World, PortalStandIn Portal) Setup(string extra = "", [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        var w = new SynchrotronWorld(TestEnv.NewTempDir(name.Length > 36 ? name[..36] : name));
        w.AddEpn("12282a", files: 4);
        w.AddEpn("12290b", files: 2, seed: 5);
        w.AddEpn("77777a", files: 1);
        var portal = new PortalStandIn();
        var now = DateTimeOffset.Now;
        var ada = new PortalStandIn.Person("Ada", "Lovelace", "ada@example.org");
        portal.AddVisit(23, new("12282a", now.AddDays(-6), now.AddDays(-5), ada, Array.Empty<PortalStandIn.Person>()));
        portal.AddVisit(24, new("12290b", now.AddDays(-3), now.AddDays(-2), ada, Array.Empty<PortalStandIn.Person>()));
        portal.AddVisit(24, new("77777a", now.AddDays(-2), now.AddDays(-1), ada, new[] { new PortalStandIn.Person("Alan", "Turing", "alan@example.org") }));
        w.WriteConfig(portal.BaseUrl, extra: extra);
        return (w, portal);
    }

    private static object? P(PSObject o, string name) => o.Properties[name].Value;

    [Fact]
    public void GetListsPortalVisitsAndBadCredentialsAreErrorRecords()
    {
        var (w, portal) = Setup();
        using var _ = portal;
        using var s = new PsSession();
        var r = s.Run($"Get-SynchrotronEpn -ConfigPath '{w.ConfigPath}'");
        r.AssertNoErrors();
        Assert.Equal(new[] { "12282a", "12290b", "77777a" }, r.Output.Select(o => (string)P(o, "Epn")!));
        Assert.Equal("HpcCampaign.SynchrotronEpn", r.Output[0].BaseObject.GetType().FullName);
        Assert.Equal("ny79", P(r.Output[0], "Project"));
        Assert.Equal(w.Destination("ny79", "12282a"), P(r.Output[0], "Destination"));
        Assert.Null(P(r.Output[2], "Project"));

        var pending = s.Run($"Get-SynchrotronEpn 1229* -ConfigPath '{w.ConfigPath}' -Pending");
        pending.AssertNoErrors();
        Assert.Equal("12290b", P(Assert.Single(pending.Output), "Epn"));

        var bad = s.Run($"Get-SynchrotronEpn -ConfigPath '{w.ConfigPath}' -Credential ([pscredential]::new('beamline-user', [System.Net.NetworkCredential]::new('', 'wrong').SecurePassword))");
        Assert.Empty(bad.Output);
        Assert.Equal(2, bad.Errors.Count);
        Assert.All(bad.Errors, e => Assert.Equal("PortalAuthenticationFailed," + Ns + "GetSynchrotronEpnCommand", e.FullyQualifiedErrorId));
        Assert.All(bad.Errors, e => Assert.Equal(ErrorCategory.AuthenticationError, e.CategoryInfo.Category));

        portal.FailVisits = true;
        var failing = s.Run($"Get-SynchrotronEpn -ConfigPath '{w.ConfigPath}'");
        Assert.All(failing.Errors, e => Assert.Equal("PortalRequestFailed," + Ns + "GetSynchrotronEpnCommand", e.FullyQualifiedErrorId));

        var missing = s.Run($"Get-SynchrotronEpn -ConfigPath '{w.Root}/nope.yml'");
        Assert.Equal("ConfigNotFound," + Ns + "GetSynchrotronEpnCommand", Assert.Single(missing.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void PipelineWhatIfThenRealRunThenSkip()
    {
        var (w, portal) = Setup();
        using var _ = portal;
        using var s = new PsSession();
        var dry = s.Run($"Get-SynchrotronEpn -ConfigPath '{w.ConfigPath}' -Pending | Sync-SynchrotronEpn -ConfigPath '{w.ConfigPath}' -WhatIf");
        dry.AssertNoErrors();
        Assert.Equal(new[] { "WouldSync", "WouldSync" }, dry.Output.Select(o => (string)P(o, "Status")!));
        Assert.Contains(dry.Output.SelectMany(o => (string[])P(o, "Changes")!), c => c.StartsWith(">f+++++++++ file0.img"));
        Assert.False(Directory.Exists(Path.Combine(w.DestinationRoot, "ny79")));
        Assert.Equal("previouslySynched: []\n", File.ReadAllText(w.IgnorePath));

        var real = s.Run($"Sync-SynchrotronEpn -ConfigPath '{w.ConfigPath}' -ThrottleLimit 2 -Verbose");
        real.AssertNoErrors();
        var results = real.Output.OrderBy(o => (string)P(o, "Epn")!).ToList();
        Assert.Equal(new[] { "12282a", "12290b" }, results.Select(o => (string)P(o, "Epn")!));
        Assert.All(results, o => Assert.Equal(("Synced", true, true), ((string)P(o, "Status")!, (bool)P(o, "Verified")!, (bool)P(o, "Recorded")!)));
        Assert.Equal(5L, P(results[0], "FilesTransferred"));
        Assert.Equal(SynchrotronWorld.Listing(Path.Combine(w.SourceRoot, "mx", "12282a")), SynchrotronWorld.Listing(w.Destination("ny79", "12282a"), true));
        Assert.Equal("previouslySynched:\n- 12282a\n- 12290b\n", File.ReadAllText(w.IgnorePath));
        Assert.Contains(real.Verbose, v => v.Message.Contains("77777a has no project"));
        Assert.Contains(real.Progress, p => p.Activity == "EPN 12282a");

        var nothing = s.Run($"Sync-SynchrotronEpn -ConfigPath '{w.ConfigPath}'");
        nothing.AssertNoErrors();
        Assert.Empty(nothing.Output);
        var skip = s.Run($"'12282a' | Sync-SynchrotronEpn -ConfigPath '{w.ConfigPath}'");
        Assert.Equal("AlreadySynced", P(Assert.Single(skip.Output), "Status"));
    }

    [Fact]
    public void BadEpnsAreErrorRecordsWhileTheOthersAreCopied()
    {
        var (w, portal) = Setup();
        using var _ = portal;
        using var s = new PsSession();
        var r = s.Run($"'12282a', 'bad!', '55555a', '12290z' | Sync-SynchrotronEpn -ConfigPath '{w.ConfigPath}' -ThrottleLimit 4");
        Assert.Equal("12282a", P(Assert.Single(r.Output), "Epn"));
        Assert.Equal(new[] { "EpnNotMapped", "InvalidEpn", "SourceNotFound" }.Select(id => id + "," + Ns + "SyncSynchrotronEpnCommand"),
            r.Errors.Select(e => e.FullyQualifiedErrorId).OrderBy(x => x));
        Assert.Contains(r.Errors, e => e.CategoryInfo.Category == ErrorCategory.InvalidArgument && (string)e.TargetObject == "bad!");
        Assert.Equal("previouslySynched:\n- 12282a\n", File.ReadAllText(w.IgnorePath));

        w.WriteConfig(portal.BaseUrl, keyFile: TestEnv.SshWrongKey);
        var auth = s.Run($"Sync-SynchrotronEpn 12290b -ConfigPath '{w.ConfigPath}'");
        Assert.Equal("SshAuthenticationFailed," + Ns + "SyncSynchrotronEpnCommand", Assert.Single(auth.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void AsJobAndRepeatEveryRunInTheBackgroundAndStop()
    {
        var (w, portal) = Setup();
        using var _ = portal;
        using var s = new PsSession();
        var r = s.Run($$"""
            $j = Sync-SynchrotronEpn 12282a -ConfigPath '{{w.ConfigPath}}' -AsJob
            $null = Wait-Job $j -Timeout 60
            $j.State.ToString()
            Receive-Job $j
            $k = Sync-SynchrotronEpn 12290b -ConfigPath '{{w.ConfigPath}}' -RepeatEvery 00:00:01 -AsJob
            for ($i = 0; $i -lt 600 -and $k.Output.Count -lt 2; $i++) { [System.Threading.Thread]::Sleep(100) }
            Stop-Job $k
            $null = Wait-Job $k -Timeout 30
            $k.State.ToString()
            Receive-Job $k
            """);
        r.AssertNoErrors();
        Assert.Equal("Completed", r.Output[0].BaseObject);
        Assert.Equal("Synced", P(r.Output[1], "Status"));
        Assert.Equal("Stopped", r.Output[2].BaseObject);
        Assert.Equal(new[] { "Synced", "AlreadySynced" }, r.Output.Skip(3).Take(2).Select(o => (string)P(o, "Status")!));
    }

    [Fact]
    public void AlertWhatIfShowsItAndTheRealRunDelivers()
    {
        var marker = Guid.NewGuid().ToString("N");
        var extra = "epnalert-email-to: helpdesk@example.org\nepnalert-email-from: mxsync@example.org\n" +
                    $"epnalert-email-smtp: {TestEnv.Require("HPCC_TEST_SMTPS_HOST")}\nepnalert-email-smtp-port: {TestEnv.Require("HPCC_TEST_SMTPS_PORT")}\n" +
                    $"epnalert-email-smtp-security: StartTls\nepnalert-email-smtp-ca-file: {TestEnv.Require("HPCC_TEST_SMTPS_CERT")}\n" +
                    $"epnalert-email-subject: EPN alert {marker}\n";
        var (w, portal) = Setup(extra);
        using var _ = portal;
        using var s = new PsSession();
        var vars = new Dictionary<string, object?>
        {
            ["smtp"] = new PSCredential(TestEnv.Require("HPCC_TEST_SMTPS_USER"), TestSetup.Secure(TestEnv.Require("HPCC_TEST_SMTPS_PASSWORD"))),
        };
        var preview = s.Run($"Send-SynchrotronEpnAlert -ConfigPath '{w.ConfigPath}' -SmtpCredential $smtp -WhatIf", vars);
        preview.AssertNoErrors();
        var p = Assert.Single(preview.Output);
        Assert.Equal((false, "WhatIf"), ((bool)P(p, "Sent")!, (string)P(p, "Reason")!));
        Assert.Equal(new[] { "77777a" }, (string[])P(p, "UnknownEpnsWithVisit")!);
        Assert.Contains("Epn 77777a on", (string)P(p, "TextBody")!);
        Assert.Null(FindMail(marker, 1));

        var sent = s.Run($"Send-SynchrotronEpnAlert -ConfigPath '{w.ConfigPath}' -SmtpCredential $smtp", vars);
        sent.AssertNoErrors();
        Assert.True((bool)P(Assert.Single(sent.Output), "Sent")!);
        var mail = FindMail(marker, 10);
        Assert.NotNull(mail);
        Assert.Contains("Principal scientist: Ada Lovelace ada@example.org", mail);
        Assert.Contains("Alan        Turing     alan@example.org", mail);

        var wrong = s.Run($"Send-SynchrotronEpnAlert -ConfigPath '{w.ConfigPath}' -SmtpCredential ([pscredential]::new('x', [System.Net.NetworkCredential]::new('', 'y').SecurePassword))");
        Assert.Equal("SmtpAuthenticationFailed," + Ns + "SendSynchrotronEpnAlertCommand", Assert.Single(wrong.Errors).FullyQualifiedErrorId);
    }

    private static string? FindMail(string marker, int seconds)
    {
        var dir = Path.Combine(TestEnv.Require("HPCC_TEST_SMTPS_MAILDIR"), "new");
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        do
        {
            foreach (var f in Directory.Exists(dir) ? Directory.GetFiles(dir) : Array.Empty<string>())
            {
                var text = File.ReadAllText(f);
                if (text.Contains(marker)) return text;
            }
            Thread.Sleep(100);
        } while (DateTime.UtcNow < deadline);
        return null;
    }

    [Fact]
    public void RegisterWhatIfShowsTheUnitsAndWritesOnlyIntoTheGivenFolder()
    {
        var (w, portal) = Setup();
        using var _ = portal;
        var units = Path.Combine(w.Root, "units");
        using var s = new PsSession();
        var preview = s.Run($"Register-SynchrotronSync -ConfigPath '{w.ConfigPath}' -UnitDirectory '{units}' -PowerShellPath /usr/bin/pwsh -WhatIf");
        preview.AssertNoErrors();
        var plan = Assert.Single(preview.Output);
        Assert.Equal("SystemdTimer", P(plan, "Kind"));
        Assert.Equal("every 6h", P(plan, "Schedule"));
        Assert.Contains($"Sync-SynchrotronEpn -ConfigPath '{w.ConfigPath}' -ThrottleLimit 2", (string)P(plan, "Command")!);
        Assert.Contains(Path.Combine(TestEnv.RepoRoot, "HpcCampaign.psd1"), (string)P(plan, "Command")!);
        Assert.False(Directory.Exists(units));

        var service = s.Run($"Register-SynchrotronSync -ConfigPath '{w.ConfigPath}' -UnitDirectory '{units}' -Service -Interval 02:00:00");
        service.AssertNoErrors();
        var unit = File.ReadAllText(Path.Combine(units, "hpccampaign-synchrotron-sync.service"));
        Assert.Contains("-RepeatEvery '02:00:00'", unit);
        Assert.False((bool)P(Assert.Single(service.Output), "Enabled")!);

        var alert = s.Run($"Register-SynchrotronSync Alert -ConfigPath '{w.ConfigPath}' -UnitDirectory '{units}'");
        alert.AssertNoErrors();
        Assert.Contains("OnCalendar=*-*-* 01:00:00", File.ReadAllText(Path.Combine(units, "hpccampaign-synchrotron-alert.timer")));
        var again = s.Run($"Register-SynchrotronSync Alert -ConfigPath '{w.ConfigPath}' -UnitDirectory '{units}'");
        Assert.Equal("RegistrationExists,HpcCampaign.Commands.Synchrotron.RegisterSynchrotronSyncCommand", Assert.Single(again.Errors).FullyQualifiedErrorId);
    }
}
