using System.Management.Automation;

namespace HpcCampaign.Tests.Foundation;

public class KeyCmdletTests
{
    private static string Fixture => Path.Combine(TestEnv.Fixtures, "campaign", "demo.key");

    [Fact]
    public void WhatIfWritesNothing()
    {
        var dir = TestEnv.NewTempDir();
        using var s = new PsSession();
        var r = s.Run($"New-CampaignKey -Path '{dir}/w.key' -WhatIf");
        r.AssertNoErrors();
        Assert.Empty(r.Output);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void NewRefusesToOverwriteWithoutForceAndKeepsTheOldKey()
    {
        var dir = TestEnv.NewTempDir();
        using var s = new PsSession();
        var first = s.Run($"New-CampaignKey -Path '{dir}/k.key' -Note one");
        first.AssertNoErrors();
        var id = first.Output[0].Properties["Id"].Value!.ToString()!;
        Assert.Matches("^[0-9a-f]{32}$", id);
        var again = s.Run($"New-CampaignKey -Path '{dir}/k.key' -Note two");
        Assert.Equal("KeyFileExists,HpcCampaign.Commands.Keys.NewCampaignKeyCommand", Assert.Single(again.Errors).FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, again.Errors[0].CategoryInfo.Category);
        Assert.Contains(id, File.ReadAllText(Path.Combine(dir, "k.key")));
        var forced = s.Run($"New-CampaignKey -Path '{dir}/k.key' -Note two -Force");
        forced.AssertNoErrors();
        Assert.NotEqual(id, forced.Output[0].Properties["Id"].Value);
    }

    [Fact]
    public void ProtectedKeyPipelineTestsThePasswordWithoutShowingTheKey()
    {
        var dir = TestEnv.NewTempDir();
        using var s = new PsSession();
        var vars = new Dictionary<string, object?> { ["pw"] = TestSetup.Secure("s3cret!"), ["bad"] = TestSetup.Secure("nope") };
        var made = s.Run($"New-CampaignKey -Path '{dir}/p.key' -Password $pw -Note protected", vars);
        made.AssertNoErrors();
        Assert.Equal(true, made.Output[0].Properties["IsProtected"].Value);
        Assert.Contains("salt:", File.ReadAllText(Path.Combine(dir, "p.key")));

        var good = s.Run($"Get-CampaignKey '{dir}/p.key' | Test-CampaignKey -Password $pw", vars);
        good.AssertNoErrors();
        Assert.Equal(true, Assert.Single(good.Output).Properties["IsValid"].Value);

        var wrong = s.Run($"Test-CampaignKey -LiteralPath '{dir}/p.key' -Password $bad", vars);
        wrong.AssertNoErrors();
        var result = Assert.Single(wrong.Output);
        Assert.Equal(false, result.Properties["IsValid"].Value);
        Assert.Contains("does not unlock", (string)result.Properties["Message"].Value);
        // nothing the cmdlets emit carries key material
        Assert.DoesNotContain(result.Properties, p => p.Name.Contains("Key", StringComparison.OrdinalIgnoreCase) && p.Name != "IsProtected");
    }

    [Fact]
    public void GetListsTheConfiguredKeysFolderAndReadsTheOriginalToolsKey()
    {
        var keys = Path.Combine(TestSetup.ConfigDir, "keys");
        Directory.CreateDirectory(keys);
        File.Copy(Fixture, Path.Combine(keys, "demo.key"), overwrite: true);
        using var s = new PsSession();
        var r = s.Run("Get-CampaignKey");
        r.AssertNoErrors();
        var demo = Assert.Single(r.Output, o => (string)o.Properties["Id"].Value == "9d137a56f6884765942bfd88a47063ab");
        Assert.Equal("demo key", demo.Properties["Note"].Value);
        Assert.Equal(false, demo.Properties["IsProtected"].Value);
    }

    [Fact]
    public void DamagedKeyFileIsAnErrorRecordAndOtherFilesGoOn()
    {
        var dir = TestEnv.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "bad.key"), "note: x\n");
        File.Copy(Fixture, Path.Combine(dir, "good.key"));
        using var s = new PsSession();
        var r = s.Run($"Get-CampaignKey -Path '{dir}/*.key'");
        Assert.Single(r.Output);
        Assert.Equal("InvalidKeyFile,HpcCampaign.Commands.Keys.GetCampaignKeyCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, r.Errors[0].CategoryInfo.Category);
        Assert.EndsWith("bad.key", (string)r.Errors[0].TargetObject);
    }

    [Fact]
    public void AsJobIsVisibleToGetJobAndReceiveJobReturnsTypedResults()
    {
        var dir = TestEnv.NewTempDir();
        File.Copy(Fixture, Path.Combine(dir, "a.key"));
        using var s = new PsSession();
        var vars = new Dictionary<string, object?> { ["pw"] = TestSetup.Secure("pw") };
        Assert.Empty(s.Run($"New-CampaignKey -Path '{dir}/b.key' -Password $pw", vars).Errors);
        var r = s.Run($$"""
            $j = Test-CampaignKey -Path '{{dir}}/*.key' -Password $pw -AsJob
            $seen = Get-Job -Id $j.Id
            $null = Wait-Job $j -Timeout 120
            $out = Receive-Job $j
            [pscustomobject]@{ Type = $seen.PSJobTypeName; State = $j.State.ToString(); Count = @($out).Count;
              AllTyped = @($out | Where-Object { $_ -is [HpcCampaign.CampaignKeyTestResult] }).Count; AllValid = @($out | Where-Object IsValid).Count }
            Remove-Job $j
            @(Get-Job).Count
            """, vars);
        r.AssertNoErrors();
        var info = r.Output[0];
        Assert.Equal("HpcCampaignJob", info.Properties["Type"].Value);
        Assert.Equal("Completed", info.Properties["State"].Value);
        Assert.Equal(2, info.Properties["Count"].Value);
        Assert.Equal(2, info.Properties["AllTyped"].Value);
        Assert.Equal(2, info.Properties["AllValid"].Value);
        Assert.Equal(0, r.Output[1].BaseObject);
    }

    [Fact]
    public void StopJobEndsAJobAsStopped()
    {
        var dir = TestEnv.NewTempDir();
        using var s = new PsSession();
        var vars = new Dictionary<string, object?> { ["pw"] = TestSetup.Secure("pw") };
        Assert.Empty(s.Run($"New-CampaignKey -Path '{dir}/k.key' -Password $pw", vars).Errors);
        var r = s.Run($$"""
            $paths = 1..6 | ForEach-Object { '{{dir}}/k.key' }
            $j = Test-CampaignKey -LiteralPath $paths -Password $pw -AsJob
            Stop-Job $j
            $j.State.ToString()
            @(Receive-Job $j).Count
            """, vars);
        r.AssertNoErrors();
        Assert.Equal("Stopped", r.Output[0].ToString());
        Assert.True((int)r.Output[1].BaseObject < 6);
    }

    [Fact]
    public void FormatViewRendersThroughOutDefault()
    {
        using var s = new PsSession();
        s.Host.ClearText();
        var r = s.Run($"Get-CampaignKey -LiteralPath '{Fixture}' | Out-Default");
        r.AssertNoErrors();
        var text = s.Host.Text;
        Assert.Contains("Protected", text);
        Assert.Contains("Created", text);
        Assert.Matches(@"9d137a56f6884765942bfd88a47063ab\s+False\s+2026-11-24 11:42:28\s+demo key", text);
    }
}

public class StopProcessingTests
{
    [Fact]
    public void CtrlCStopsAForegroundCmdletBetweenItemsAndEndsThePipeline()
    {
        var dir = TestEnv.NewTempDir();
        using var s = new PsSession();
        var vars = new Dictionary<string, object?> { ["pw"] = TestSetup.Secure("pw") };
        Assert.Empty(s.Run($"New-CampaignKey -Path '{dir}/k.key' -Password $pw", vars).Errors);
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = s.Runspace;
        ps.AddScript($"Test-CampaignKey -LiteralPath (1..8 | ForEach-Object {{ '{dir}/k.key' }}) -Password $pw");
        var output = new System.Management.Automation.PSDataCollection<System.Management.Automation.PSObject>();
        var handle = ps.BeginInvoke<System.Management.Automation.PSObject, System.Management.Automation.PSObject>(null, output);
        // each unlock is Argon2i over 512 MiB: seconds on a loaded 2-core machine; wait (bounded) for the first result
        for (var i = 0; i < 1200 && output.Count == 0; i++) Thread.Sleep(50);
        Assert.NotEmpty(output);
        ps.Stop();
        Assert.Throws<System.Management.Automation.PipelineStoppedException>(() => ps.EndInvoke(handle));
        Assert.Equal(System.Management.Automation.PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.InRange(output.Count, 1, 7);
    }
}
