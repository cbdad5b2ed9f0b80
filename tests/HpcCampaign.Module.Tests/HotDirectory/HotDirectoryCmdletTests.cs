namespace HpcCampaign.Tests.HotDirectory;

/// <summary>The hot-directory cmdlets in a real runspace against the real test sshd.</summary>
public sealed class HotDirectoryCmdletTests
{
    [Fact]
    public void Start_as_job_with_parameters_delivers_then_status_and_stop_work()
    {
        using var fx = new HotDirectoryFixture("job");
        using var ps = new PsSession();
        fx.Write("one.bin", 5000, 1);
        var start = ps.Run("""
            Start-HotDirectory -Name job -WatchDirectory $w -StateDirectory $s -RemoteHost $h -RemotePort $p -RemoteUser $u `
              -RemoteDirectory $d -KeyFile $k -KnownHostsFile $kh -Senders 2 -SettleSeconds 0.3 -AsJob
            """, new Dictionary<string, object?>
        {
            ["w"] = fx.Watch, ["s"] = fx.State, ["h"] = TestEnv.SshHost, ["p"] = TestEnv.SshPort, ["u"] = TestEnv.SshUser,
            ["d"] = fx.RemoteDirectory + "/on_cluster", ["k"] = TestEnv.SshKey, ["kh"] = TestEnv.SshKnownHosts,
        });
        start.AssertNoErrors();
        Assert.Equal("HpcJob", start.Output.Single().BaseObject.GetType().Name);
        fx.Write("sub/two.bin", 7000, 2);
        Assert.True(HotDirectoryFixture.WaitUntil(() => fx.Delivered("one.bin") && fx.Delivered("sub/two.bin"), 40), "not delivered");

        Assert.True(HotDirectoryFixture.WaitUntil(() =>
        {
            var st = ps.Run("Get-HotDirectoryStatus -StateDirectory $s -Name job", new Dictionary<string, object?> { ["s"] = fx.State });
            return st.Output.Any(o => (string)o.Properties["Component"].Value == "sender" && (long)o.Properties["TotalFiles"].Value == 2
                                      && o.Properties["QueueDepth"].Value is 0L);
        }, 20), "status never showed the two deliveries");
        var status = ps.Run("Get-HotDirectoryStatus -StateDirectory $s -Name job", new Dictionary<string, object?> { ["s"] = fx.State });
        status.AssertNoErrors();
        Assert.Equal(new[] { "watch", "sender" }, status.Output.Select(o => (string)o.Properties["Component"].Value));
        var sender = status.Output[1];
        Assert.Equal("run", sender.Properties["State"].Value);
        Assert.Equal("2/2", sender.Properties["Processes"].Value);
        Assert.Equal(0L, sender.Properties["QueueDepth"].Value);
        Assert.Equal(0L, sender.Properties["DeadLetters"].Value);

        var stop = ps.Run("Stop-HotDirectory -StateDirectory $s -Name job -PassThru", new Dictionary<string, object?> { ["s"] = fx.State });
        stop.AssertNoErrors();
        Assert.All(stop.Output, o => Assert.Equal("stop", o.Properties["State"].Value));
        var job = ps.Run("$j = Get-Job | Where-Object { $_.GetType().Name -eq 'HpcJob' } | ForEach-Object { $_ }; Wait-Job -Job $j -Timeout 30 | Out-Null; $j.State.ToString(); Receive-Job -Job $j");
        Assert.Equal("Completed", job.Output[0].BaseObject);
        Assert.Contains(job.Output.Skip(1), o => o.Properties["Component"]?.Value as string == "sender");
    }

    [Fact]
    public void Register_WhatIf_shows_the_unit_and_writes_nothing_then_register_and_unregister_use_the_given_folder()
    {
        using var fx = new HotDirectoryFixture("svc");
        using var ps = new PsSession();
        var units = Path.Combine(fx.Root, "units");
        var vars = new Dictionary<string, object?> { ["c"] = fx.ConfigPath, ["u"] = units };
        var whatIf = ps.Run("Register-HotDirectory -ConfigPath $c -UnitDirectory $u -HostCommand '/usr/bin/dotnet /opt/hpcc/hpcc.dll' -WhatIf", vars);
        whatIf.AssertNoErrors();
        Assert.Empty(whatIf.Output);
        Assert.False(Directory.Exists(units) && Directory.EnumerateFileSystemEntries(units).Any(), "-WhatIf wrote something");
        var shown = ps.Host.Text;
        Assert.Contains("ExecStart=/usr/bin/dotnet /opt/hpcc/hpcc.dll -Command \"Start-HotDirectory -ConfigPath '" + fx.ConfigPath + "'\"", shown);

        var reg = ps.Run("Register-HotDirectory -ConfigPath $c -UnitDirectory $u -HostCommand '/usr/bin/dotnet /opt/hpcc/hpcc.dll'", vars);
        reg.AssertNoErrors();
        var unitPath = Path.Combine(units, "hpcc-hotdirectory-svc.service");
        Assert.Equal(unitPath, reg.Output.Single().Properties["Path"].Value);
        var text = File.ReadAllText(unitPath);
        Assert.Contains("[Service]", text);
        Assert.Contains("Type=simple", text);
        Assert.Contains("ExecStart=/usr/bin/dotnet /opt/hpcc/hpcc.dll -Command \"Start-HotDirectory -ConfigPath '" + fx.ConfigPath + "'\"", text);
        Assert.Contains("ExecStop=/usr/bin/dotnet /opt/hpcc/hpcc.dll -Command \"Stop-HotDirectory -ConfigPath '" + fx.ConfigPath + "'\"", text);
        Assert.Contains("Restart=always", text);
        Assert.Contains("WantedBy=default.target", text);
        Assert.Contains(reg.Warnings, w => w.Message.Contains("enable-linger"));
        Assert.Contains("systemctl --user enable --now hpcc-hotdirectory-svc.service", (string)reg.Output.Single().Properties["Note"].Value);

        var again = ps.Run("Register-HotDirectory -ConfigPath $c -UnitDirectory $u", vars);
        Assert.Equal("UnitExists,HpcCampaign.Commands.HotDirectory.RegisterHotDirectoryCommand", again.ErrorIds);

        var un = ps.Run("Unregister-HotDirectory -Name svc -UnitDirectory $u -PassThru -Confirm:$false", vars);
        un.AssertNoErrors();
        Assert.False(File.Exists(unitPath));
        var missing = ps.Run("Unregister-HotDirectory -Name svc -UnitDirectory $u -Confirm:$false", vars);
        Assert.Equal("UnitNotFound,HpcCampaign.Commands.HotDirectory.UnregisterHotDirectoryCommand", missing.ErrorIds);
    }

    [Fact]
    public void Bad_input_gives_clear_errors()
    {
        using var fx = new HotDirectoryFixture("bad");
        using var ps = new PsSession();
        var vars = new Dictionary<string, object?> { ["c"] = fx.ConfigPath, ["m"] = Path.Combine(fx.Root, "missing"), ["s"] = fx.State };
        var noWatch = ps.Run("Start-HotDirectory -ConfigPath $c -WatchDirectory $m", vars);
        Assert.Equal("WatchDirectoryNotFound,HpcCampaign.Commands.HotDirectory.StartHotDirectoryCommand", noWatch.ErrorIds);

        var badYaml = Path.Combine(fx.Root, "bad.yaml");
        File.WriteAllText(badYaml, "watch: /tmp\nsendrs: 3\n");
        var unknown = ps.Run("Start-HotDirectory -ConfigPath $b", new Dictionary<string, object?> { ["b"] = badYaml });
        Assert.Equal("InvalidHotDirectoryConfig,HpcCampaign.Commands.HotDirectory.StartHotDirectoryCommand", unknown.ErrorIds);
        Assert.Contains("sendrs", unknown.Errors[0].Exception.Message);

        var noConfig = ps.Run("Start-HotDirectory -ConfigPath $m", vars);
        Assert.Equal("ConfigFileNotFound,HpcCampaign.Commands.HotDirectory.StartHotDirectoryCommand", noConfig.ErrorIds);

        var mismatch = ps.Run("Start-HotDirectory -ConfigPath $c -KnownHostsFile $k", new Dictionary<string, object?> { ["c"] = fx.ConfigPath, ["k"] = TestEnv.SshKnownHostsMismatch });
        Assert.Equal("HostKeyMismatch,HpcCampaign.Commands.HotDirectory.StartHotDirectoryCommand", mismatch.ErrorIds);

        var nosuch = ps.Run("Get-HotDirectoryStatus -Name no-such-hot-directory");
        Assert.Equal("HotDirectoryNotFound,HpcCampaign.Commands.HotDirectory.GetHotDirectoryStatusCommand", nosuch.ErrorIds);

        var restore = ps.Run("Restore-HotDirectoryDeadLetter -Name bad -StateDirectory $s -Id 42", vars);
        Assert.Equal("DeadLetterNotFound,HpcCampaign.Commands.HotDirectory.RestoreHotDirectoryDeadLetterCommand", restore.ErrorIds);
    }

    [Fact]
    public void Dead_letters_are_listed_and_requeued_through_the_pipeline()
    {
        using var fx = new HotDirectoryFixture("dl", "maxAttempts: 2");
        using var ps = new PsSession();
        var blocker = Path.Combine(TestEnv.SshHome, fx.RemoteDirectory);
        Directory.CreateDirectory(blocker);
        File.WriteAllText(Path.Combine(blocker, "on_cluster"), "a file where the folder should be");
        System.Diagnostics.Process.Start("chown", $"-R {TestEnv.SshUser} \"{blocker}\"")!.WaitForExit();
        fx.Write("stuck.bin", 100, 1);
        var vars = new Dictionary<string, object?> { ["c"] = fx.ConfigPath, ["s"] = fx.State };
        ps.Run("Start-HotDirectory -ConfigPath $c -AsJob", vars).AssertNoErrors();
        Assert.True(HotDirectoryFixture.WaitUntil(() => ps.Run("Get-HotDirectoryDeadLetter -ConfigPath $c", vars).Output.Count == 1, 30), "no dead letter");
        var dl = ps.Run("Get-HotDirectoryDeadLetter -ConfigPath $c", vars).Output.Single();
        Assert.Equal("stuck.bin", dl.Properties["RelPath"].Value);
        Assert.Equal(2, dl.Properties["Attempts"].Value);

        File.Delete(Path.Combine(blocker, "on_cluster"));
        var restored = ps.Run("Get-HotDirectoryDeadLetter -ConfigPath $c | Restore-HotDirectoryDeadLetter -PassThru", vars);
        restored.AssertNoErrors();
        Assert.Single(restored.Output);
        Assert.True(HotDirectoryFixture.WaitUntil(() => fx.Delivered("stuck.bin"), 30), "requeued file not delivered");
        ps.Run("Stop-HotDirectory -ConfigPath $c", vars).AssertNoErrors();
        Assert.Empty(ps.Run("Get-HotDirectoryDeadLetter -ConfigPath $c", vars).Output);
    }
}
