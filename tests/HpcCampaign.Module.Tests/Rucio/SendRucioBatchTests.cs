using System.Management.Automation;
using System.Text.Json.Nodes;

namespace HpcCampaign.Tests.Rucio;

/// <summary>
/// Send-RucioBatch in a real runspace against the RucioServerStandIn (a Rucio server cannot run here) with posix
/// storage in a temp folder, and the rucio-standin.sh script for -RucioCommand.
/// </summary>
public class SendRucioBatchTests
{
    private const string Id = "HpcCampaign.Commands.Rucio.SendRucioBatchCommand";

    private sealed class Kit : IDisposable
    {
        public RucioServerStandIn Server { get; } = new();
        public string Dir { get; }
        public string Storage { get; }
        public string Config { get; }

        public Kit(string name)
        {
            Dir = TestEnv.NewTempDir(name);
            Storage = Path.Combine(Dir, "rse");
            Config = Path.Combine(Dir, "rucio.cfg");
            Server.AddRse("LOCAL", new JsonArray(RucioServerStandIn.Protocol("file", "localhost", 0, Storage, "rucio.rse.protocols.posix.Default")));
            File.WriteAllText(Config, $"""
                [client]
                rucio_host = {Server.Url}
                auth_host = {Server.Url}
                auth_type = userpass
                username = {Server.Username}
                password = {Server.Password}
                account = {Server.Account}
                auth_token_file_path = {Path.Combine(Dir, "token")}
                """);
            for (var i = 0; i < 7; i++)
            {
                var sub = Path.Combine(Dir, "data", i % 2 == 0 ? "even" : "odd", "deep");
                Directory.CreateDirectory(sub);
                File.WriteAllText(Path.Combine(sub, $"img{i}.fits"), new string('x', 100 * i + 1));
            }
            File.WriteAllText(Path.Combine(Dir, "data", "notes.txt"), "not a fits file");
        }

        public void Dispose() => Server.Dispose();
    }

    [Fact]
    public void FileInfoPipelineUploadsInBatchesWritesOneSummaryAndReportsProgress()
    {
        using var kit = new Kit(nameof(FileInfoPipelineUploadsInBatchesWritesOneSummaryAndReportsProgress));
        using var s = new PsSession();
        var r = s.Run($"""
            [System.IO.DirectoryInfo]::new('{kit.Dir}/data').GetFiles('*.fits', 'AllDirectories') |
              Send-RucioBatch -Scope user.survey -Rse LOCAL -BatchSize 3 -ThrottleLimit 2 -RucioConfig '{kit.Config}' -SummaryPath '{kit.Dir}/summary.json'
            """);
        r.AssertNoErrors();
        Assert.Equal(7, r.Output.Count);
        Assert.All(r.Output, o =>
        {
            Assert.Equal("HpcCampaign.RucioUploadRecord", o.BaseObject.GetType().FullName);
            Assert.Equal("Uploaded", o.Properties["State"].Value.ToString());
            Assert.Matches("^[0-9a-f]{8}$", (string)o.Properties["Adler32"].Value);
        });
        Assert.Equal(3, r.Progress.Count(p => p.RecordType == ProgressRecordType.Processing));
        var summary = Assert.IsType<JsonObject>(JsonNode.Parse(File.ReadAllText(Path.Combine(kit.Dir, "summary.json"))));
        Assert.Equal(7, summary.Count);
        Assert.Equal(7, Directory.GetFiles(kit.Storage, "*.fits", SearchOption.AllDirectories).Length);
        Assert.All(kit.Server.Dids.Values, d => Assert.Equal("A", (string?)d["replicas"]!["LOCAL"]));
    }

    [Fact]
    public void WhatIfUploadsNothingAndTouchesNoServer()
    {
        using var kit = new Kit(nameof(WhatIfUploadsNothingAndTouchesNoServer));
        using var s = new PsSession();
        s.Host.ClearText();
        var r = s.Run($"Send-RucioBatch -Path '{kit.Dir}/data/**/*.fits' -Scope user.survey -Rse LOCAL -RucioConfig '{kit.Config}' -SummaryPath '{kit.Dir}/s.json' -WhatIf");
        r.AssertNoErrors();
        Assert.Empty(r.Output);
        Assert.Empty(kit.Server.Calls);
        Assert.False(Directory.Exists(kit.Storage));
        Assert.False(File.Exists(Path.Combine(kit.Dir, "s.json")));
        Assert.Contains("img6.fits", s.Host.Text);
        Assert.Contains("user.survey:img3.fits", s.Host.Text);
    }

    [Fact]
    public void DoubleStarGlobFindsFilesInEveryFolderAndAReRunSkipsThem()
    {
        using var kit = new Kit(nameof(DoubleStarGlobFindsFilesInEveryFolderAndAReRunSkipsThem));
        using var s = new PsSession();
        var script = $"Send-RucioBatch '{kit.Dir}/data/**/*.fits' -Scope user.survey -Rse LOCAL -RucioConfig '{kit.Config}' -SummaryPath '{kit.Dir}/s.json'";
        var first = s.Run(script);
        first.AssertNoErrors();
        Assert.Equal(7, first.Output.Count);
        var second = s.Run(script);
        second.AssertNoErrors();
        Assert.All(second.Output, o => Assert.Equal("Skipped", o.Properties["State"].Value.ToString()));
        Assert.Equal(7, Assert.IsType<JsonObject>(JsonNode.Parse(File.ReadAllText(Path.Combine(kit.Dir, "s.json")))).Count);
        var none = s.Run($"Send-RucioBatch '{kit.Dir}/nowhere/**/*.fits' -Scope user.survey -Rse LOCAL -RucioConfig '{kit.Config}'");
        Assert.Equal("PathNotFound," + Id, Assert.Single(none.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void WrongCredentialIsAnAuthenticationErrorRecord()
    {
        using var kit = new Kit(nameof(WrongCredentialIsAnAuthenticationErrorRecord));
        using var s = new PsSession();
        var vars = new Dictionary<string, object?> { ["cred"] = new PSCredential(kit.Server.Username, TestSetup.Secure("not-the-password")) };
        var r = s.Run($"Send-RucioBatch -Path '{kit.Dir}/data/even/deep/*.fits' -Scope user.survey -Rse LOCAL -RucioConfig '{kit.Config}' -Credential $cred", vars);
        Assert.Empty(r.Output);
        var e = Assert.Single(r.Errors);
        Assert.Equal("RucioAuthenticationFailed," + Id, e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.AuthenticationError, e.CategoryInfo.Category);
        Assert.DoesNotContain("not-the-password", e.ToString());
        Assert.False(Directory.Exists(kit.Storage));

        var missing = s.Run($"Send-RucioBatch -Path '{kit.Dir}/data/even/deep/*.fits' -Scope user.survey -Rse LOCAL -RucioConfig '{kit.Dir}/none.cfg'");
        Assert.Equal("RucioConfigNotFound," + Id, Assert.Single(missing.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void AsJobUploadsInTheBackgroundWithTypedResults()
    {
        using var kit = new Kit(nameof(AsJobUploadsInTheBackgroundWithTypedResults));
        using var s = new PsSession();
        var r = s.Run($$"""
            $j = Send-RucioBatch -LiteralPath '{{kit.Dir}}/data/odd/deep/img1.fits','{{kit.Dir}}/data/odd/deep/img3.fits' -Scope user.survey -Rse LOCAL -RucioConfig '{{kit.Config}}' -Dataset night-1 -AsJob
            $null = Wait-Job $j -Timeout 60
            $out = Receive-Job $j
            [pscustomobject]@{ State = $j.State.ToString(); Count = @($out).Count; Typed = @($out | Where-Object { $_ -is [HpcCampaign.RucioUploadRecord] -and $_.State -eq 'Uploaded' }).Count }
            Remove-Job $j
            """);
        r.AssertNoErrors();
        Assert.Equal("Completed", r.Output[0].Properties["State"].Value);
        Assert.Equal(2, r.Output[0].Properties["Count"].Value);
        Assert.Equal(2, r.Output[0].Properties["Typed"].Value);
        Assert.Equal(2, kit.Server.Attachments["user.survey:night-1"].Count);
    }

    [Fact]
    public void RucioCommandTransportRunsTheCliPerBatchAndFormatsResults()
    {
        using var kit = new Kit(nameof(RucioCommandTransportRunsTheCliPerBatchAndFormatsResults));
        File.WriteAllText(Path.Combine(kit.Dir, "data", "bad-fail.fits"), "will fail");
        var standIn = Path.Combine(TestEnv.RepoRoot, "tests", "HpcCampaign.Engine.Tests", "Rucio", "Data", "rucio-standin.sh");
        using var s = new PsSession();
        s.Host.ClearText();
        var r = s.Run($"Send-RucioBatch -Path '{kit.Dir}/data/**/*.fits' -Scope user.survey -Rse ECHO -RucioCommand bash,'{standIn}' -RetryCount 1 -BatchSize 4 -SummaryPath '{kit.Dir}/s.json' | Out-Default");
        Assert.Equal("RucioUploadFailed," + Id, Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Matches(@"Uploaded\s+user\.survey:img2\.fits\s+201\s+[0-9a-f]{8}\s+ECHO", s.Host.Text);
        Assert.Matches(@"Failed\s+user\.survey:bad-fail\.fits", s.Host.Text);
        var summary = Assert.IsType<JsonObject>(JsonNode.Parse(File.ReadAllText(Path.Combine(kit.Dir, "s.json"))));
        Assert.Equal(7, summary.Count);
        Assert.True(File.Exists(Path.Combine(kit.Dir, "s.failures.json")));
    }
}
