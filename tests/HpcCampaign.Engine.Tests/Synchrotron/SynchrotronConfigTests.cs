using HpcCampaign.Engine.Synchrotron;

namespace HpcCampaign.Tests.Synchrotron;

public class SynchrotronConfigTests
{
    [Fact]
    public void ReadsTheOriginalKeysAndNormalisesMapKeysToStrings()
    {
        var dir = TestEnv.NewTempDir();
        var path = Path.Combine(dir, "config.yml");
        File.WriteAllText(path, """
            comment: as shipped
            epn_cap_map:
              12282: ny79
              "12290": ab12
              012300: cd34
            ignore: ignore.yml
            equipment:
            - username: u
              password: p
              client_name: c
              client_password: cp
              id: 23
            base-url: https://portal.synchrotron.org.au:443/
            beamline: mx
            visit-day-range: 200
            key-file: keys/id
            host: sftp.synchrotron.org.au
            destination-root-path: /scratch
            sync-frequency-hours: 1
            max-tasks: 3
            epnalert-email-to: help@example.org
            epnalert-email-from: mx@example.org
            epnalert-email-smtp: smtp.example.org
            """);
        var c = SynchrotronConfig.Load(path);
        Assert.Equal("ny79", EpnName.ProjectOf(c, "12282a"));
        Assert.Equal("ab12", EpnName.ProjectOf(c, "12290"));
        Assert.Equal("cd34", EpnName.ProjectOf(c, "12300b"));
        Assert.Null(EpnName.ProjectOf(c, "99999a"));
        Assert.Equal(Path.Combine(dir, "ignore.yml"), c.IgnorePath);
        Assert.Equal(Path.Combine(dir, "keys", "id"), c.KeyFile);
        Assert.Equal("https://portal.synchrotron.org.au:443", c.BaseUrl);
        Assert.Equal(23, Assert.Single(c.Equipment).Id);
        Assert.Equal(3, c.MaxTasks);
        Assert.Equal(1, c.SyncFrequencyHours);
        Assert.Equal("help@massive.org.au", c.SshUser);
        Assert.Equal(22, c.SshPort);
        Assert.Equal("/data/mx/12282a/", c.SourcePathFor("12282a"));
        Assert.Equal("/data/mx/", c.ListingRoot);
        Assert.Equal(Path.Combine("/scratch", "ny79", "12282a", "data"), c.DestinationFor("ny79", "12282a"));
        Assert.Equal("help@massive.org.au@sftp.synchrotron.org.au:/data/mx/12282a/", Rsync.RemoteSpec(c, c.SourcePathFor("12282a")));
    }

    [Fact]
    public void BadConfigAndBadEpnsGiveClearErrors()
    {
        var dir = TestEnv.NewTempDir();
        Assert.Equal("ConfigNotFound", Assert.Throws<HpcException>(() => SynchrotronConfig.Load(Path.Combine(dir, "none.yml"))).ErrorId);
        var bad = Path.Combine(dir, "bad.yml");
        File.WriteAllText(bad, "max-tasks: many\n");
        Assert.Equal("InvalidConfigValue", Assert.Throws<HpcException>(() => SynchrotronConfig.Load(bad)).ErrorId);
        File.WriteAllText(bad, "epn_cap_map: {12282: ny79}\n");
        var c = SynchrotronConfig.Load(bad);
        Assert.Equal("InvalidEpn", Assert.Throws<HpcException>(() => EpnName.Number("ab123")).ErrorId);
        Assert.Equal("InvalidEpn", Assert.Throws<HpcException>(() => EpnName.Number("12282A")).ErrorId);
        Assert.Equal("InvalidEpn", Assert.Throws<HpcException>(() => EpnName.Number("../12282a")).ErrorId);
        Assert.Equal("EpnNotMapped", Assert.Throws<HpcException>(() => EpnName.RequireProject(c, "55555a")).ErrorId);
        Assert.Equal("ConfigKeyMissing", Assert.Throws<HpcException>(() => c.DestinationFor("ny79", "12282a")).ErrorId);
    }

    [Fact]
    public void TheFlagSetIsExplicitAndHasNoArchiveCluster()
    {
        var c = new SynchrotronConfig { Host = "h", SshUser = "u@x.org", SshPort = 2222, KnownHostsFile = "/k h" };
        var args = Rsync.TransferArguments(c, "/key", "u@x.org@h:/data/mx/1a/", "/dst");
        Assert.Equal(new[] { "-rtP", "--stats", "--chmod=Dg+s,ug+w,o-wx,ug+X", "--perms", "--size-only", "--include", ".info", "--exclude", ".*",
            "--partial-dir=.rsync-partial" }, args.Take(10));
        Assert.DoesNotContain("-stats", args);
        Assert.DoesNotContain(args, a => a == "-a" || a == "--archive");
        Assert.Equal("/dst/", args[^1]);
        var e = args[args.IndexOf("-e") + 1];
        Assert.Equal("ssh -p 2222 -i /key -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=20 -o 'UserKnownHostsFile=/k h' -o StrictHostKeyChecking=yes", e);
        Assert.Contains("--dry-run", Rsync.DryRunArguments(c, "/key", "s", "/d"));
    }

    [Fact]
    public void ParsesRsyncStats()
    {
        var stats = Rsync.ParseStats(new[]
        {
            "Number of files: 1,005 (reg: 1,002, dir: 3)",
            "Number of created files: 5 (reg: 3, dir: 2)",
            "Number of regular files transferred: 1,001",
            "Total file size: 104,660,992 bytes",
            "Total transferred file size: 104,650,000 bytes",
        });
        Assert.Equal(new RsyncStats(1002, 1001, 104_660_992, 104_650_000), stats);
    }

    [Fact]
    public void VerificationComparesTheDestinationWithRsyncsListing()
    {
        var dir = TestEnv.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "sub dir"));
        File.WriteAllBytes(Path.Combine(dir, "a.img"), new byte[10]);
        File.WriteAllBytes(Path.Combine(dir, "sub dir", "b c.cbf"), new byte[5]);
        var listing = new[]
        {
            "receiving file list ... 4 files to consider",
            ".d          4096 ./",
            ">f+++++++++ 10 a.img",
            "cd+++++++++ 4096 sub dir/",
            ".f          5 sub dir/b c.cbf",
        };
        RsyncRun Run(string[] lines, long files) => new(0, lines, Array.Empty<string>(), new RsyncStats(files, 1, 15, 10), 0.1);
        Assert.Empty(Rsync.VerifyAgainstListing(Run(listing, 2), dir));
        Assert.Equal(new[] { "rsync listed 2 files but counted 3" }, Rsync.VerifyAgainstListing(Run(listing, 3), dir));
        File.WriteAllBytes(Path.Combine(dir, "a.img"), new byte[4]);
        Assert.Equal(new[] { "a.img has 4 of 10 bytes" }, Rsync.VerifyAgainstListing(Run(listing, 2), dir));
        File.Delete(Path.Combine(dir, "sub dir", "b c.cbf"));
        Assert.Contains("sub dir/b c.cbf is missing", Rsync.VerifyAgainstListing(Run(listing, 2), dir));
    }

    [Fact]
    public async Task IgnoreListKeepsEveryConcurrentAdditionAndWritesTheOriginalShape()
    {
        var dir = TestEnv.NewTempDir();
        var path = Path.Combine(dir, "ignore.yml");
        File.WriteAllText(path, "previouslySynched:\n- 100a\n");
        var list = new IgnoreList(path);
        var epns = Enumerable.Range(0, 40).Select(i => $"{200 + i}b").ToList();
        var added = await Task.WhenAll(epns.Select(e => Task.Run(() => new IgnoreList(path).AddAsync(e, CancellationToken.None))));
        Assert.All(added, Assert.True);
        Assert.False(await list.AddAsync("100a", CancellationToken.None));
        var read = list.Read();
        Assert.Equal(41, read.Count);
        Assert.True(epns.All(read.Contains));
        var text = File.ReadAllText(path);
        Assert.StartsWith("previouslySynched:\n- 100a\n- 200b\n", text);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        Assert.Equal("previouslySynched:\n- '123'\n- 12a\n", IgnoreList.Render(new[] { "12a", "123" }));
    }

    [Fact]
    public void AlertTriggersOnlyForUnmappedEpnsWithAVisitUnlessConfigured()
    {
        var map = new Dictionary<string, string> { ["12282"] = "ny79" };
        var visit = new PortalVisit("77777a", 23, DateTimeOffset.Parse("2026-11-20T09:00:00+11:00"), DateTimeOffset.Parse("2026-11-21T09:00:00+11:00"),
            new PortalPerson("Ada", "Lovelace", "ada@example.org"), Array.Empty<PortalPerson>());
        var names = new[] { "12282a", "77777a", "88888b", "weird name", "99999c" };
        var plain = new EpnAlert(new SynchrotronConfig { EpnCapMap = map }).Build(names, Array.Empty<PortalVisit>(), NullSink.Instance);
        Assert.False(plain.ShouldSend);
        Assert.Equal(new[] { "77777a", "88888b", "99999c" }, plain.WithoutVisit);
        var withVisit = new EpnAlert(new SynchrotronConfig { EpnCapMap = map }).Build(names, new[] { visit }, NullSink.Instance);
        Assert.True(withVisit.ShouldSend);
        Assert.Contains("Epn 77777a on 2026-11-20 09:00:00+11:00 is not known.", withVisit.TextBody);
        var configured = new EpnAlert(new SynchrotronConfig { EpnCapMap = map, ReportWithoutVisit = true }).Build(names, Array.Empty<PortalVisit>(), NullSink.Instance);
        Assert.True(configured.ShouldSend);
        Assert.Contains("77777a  88888b  99999c", configured.TextBody);
    }

    [Fact]
    public void TablesLookLikeTabulateSimple()
    {
        var t = TextTable.Render(new[] { "First name", "Last name", "Email" }, new[] { new[] { "Ada", "Lovelace", "ada@example.org" } });
        Assert.Equal("First name  Last name  Email\n----------  ---------  ---------------\nAda         Lovelace   ada@example.org\n", t);
        var noHeaders = TextTable.Render(null, new[] { new[] { "88888b", "1a" } });
        Assert.Equal("------  --\n88888b  1a\n------  --\n", noHeaders);
    }
}
