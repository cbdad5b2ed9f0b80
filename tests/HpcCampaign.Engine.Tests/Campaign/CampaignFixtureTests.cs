using HpcCampaign.Engine.Campaign;
using HpcCampaign.Engine.Crypto;

namespace HpcCampaign.Tests.Campaign;

/// <summary>Archives written by the original hpc-campaign 0.7.0 (shared/fixtures/campaign).</summary>
public sealed class CampaignFixtureTests
{
    private static string Fixture(string name) => Path.Combine(TestEnv.Fixtures, "campaign", name);
    private static string Source(string rel) => Path.Combine(Fixture("demo-campaign-source"), rel);

    [Fact]
    public void ReadsDatasetsReplicasFilesTimeSeriesArchivesAndDeletedItems()
    {
        var aca = Fixture("demo.aca");
        var info = CampaignReader.Summary(aca);
        Assert.Equal("0.7", info.Version);
        Assert.Equal("ADIOS Campaign Archive", info.Name);
        Assert.Equal(new[] { "demohost (localhost)", "tape.example.org ()" }, info.Hosts);
        Assert.Equal(7, info.DatasetCount);
        Assert.Equal(1, info.DeletedDatasetCount);
        Assert.Equal(new[] { "temps" }, info.TimeSeries);
        Assert.Equal(new[] { "HPSS tape.example.org:/archive/demo" }, info.ArchiveStorages);

        var all = CampaignReader.Datasets(aca, new CampaignDatasetFilter { IncludeDeleted = true });
        Assert.Equal(8, all.Count);
        var notes = all.Single(d => d.Name == "docs/notes.txt");
        Assert.True(notes.IsDeleted);
        Assert.True(notes.Replicas.Single().IsDeleted);
        Assert.DoesNotContain(CampaignReader.Datasets(aca, new()), d => d.Name == "docs/notes.txt");

        var run1 = all.Single(d => d.Name == "sim/run1.bp");
        Assert.Equal("ADIOS", run1.Format);
        Assert.Equal(1795520548319192822, run1.ModTime);
        var rep = run1.Replicas.Single();
        Assert.Equal(("demohost", "localhost", "/srv/demo-campaign", 10510L), (rep.HostName, rep.LongHostName, rep.Directory, rep.Size));
        Assert.Equal(new[] { "mmd.0", "md.idx", "md.0", "profiling.json" }, rep.Files.Select(f => f.Name));

        var t0 = all.Single(d => d.Name == "plots/t0.png");
        Assert.Equal(("temps", 0L), (t0.TimeSeries, t0.TimeSeriesOrder));
        Assert.Equal((320, 200), (t0.Replicas.Single().Width!.Value, t0.Replicas.Single().Height!.Value));
        Assert.Equal(("temps", 1L), (all.Single(d => d.Name == "plots/t1.png").TimeSeries, all.Single(d => d.Name == "plots/t1.png").TimeSeriesOrder));
        Assert.Equal(2, CampaignReader.Datasets(aca, new() { Formats = new[] { "IMAGE" } }).Count);
        Assert.Single(CampaignReader.Datasets(aca, new() { Uuids = new[] { "557664222bf73b5bb6847c7700359c3d" } }));
    }

    [Fact]
    public void ANewArchiveHasExactlyTheOriginalsSchema()
    {
        var aca = Path.Combine(TestEnv.NewTempDir(), "new.aca");
        CampaignDb.CreateNew(aca, false);
        const string sql = "SELECT type || '|' || name || '|' || tbl_name || '|' || ifnull(sql, '') FROM sqlite_master ORDER BY rowid";
        var original = CampaignTestData.Rows(Fixture("demo.aca"), sql).Select(r => (string)r[0]!).ToList();
        Assert.Equal(original, CampaignTestData.Rows(aca, sql).Select(r => (string)r[0]!).ToList());
        Assert.Equal(CampaignTestData.Scalar(Fixture("demo.aca"), "PRAGMA page_size"), CampaignTestData.Scalar(aca, "PRAGMA page_size"));
        Assert.Equal(0L, CampaignTestData.Scalar(aca, "PRAGMA user_version"));
    }

    [Fact]
    public void ComputesTheSameUuidsAsTheOriginal()
    {
        var all = CampaignReader.Datasets(Fixture("demo.aca"), new CampaignDatasetFilter { IncludeDeleted = true });
        foreach (var d in all)
            Assert.Equal(d.Uuid, CampaignIds.ForPath("/srv/demo-campaign", d.Name));
        Assert.Equal("a20afbdb9ed6323496b19b802f0e9a15", CampaignIds.Uuid3Url("/srv/demo-campaign/sim/run1.bp"));
    }

    [Fact]
    public void AddingTheSameSourcesFromTheSameFolderGivesTheSameUuids()
    {
        var aca = Path.Combine(TestEnv.NewTempDir(), "mine.aca");
        var root = Fixture("demo-campaign-source");
        var items = new[] { "sim/run1.bp", "sim/field0.h5" }.Select(p => CampaignTestData.Item(root, p, CampaignItemKind.Dataset))
            .Append(CampaignTestData.Item(root, "docs/README.txt", CampaignItemKind.Text, store: true)).ToList();
        var sink = new CollectingSink();
        Assert.Equal(3, CampaignAdd.Add(new CampaignAddOptions { ArchivePath = aca, Host = CampaignTestData.Host }, items, sink, CancellationToken.None));
        Assert.Empty(sink.Errors);
        var mine = CampaignReader.Datasets(aca, new());
        foreach (var d in mine) Assert.Equal(CampaignIds.ForPath(root, d.Name), d.Uuid);
        // the README blob equals the original's (same bytes, same checksum)
        var original = CampaignReader.Datasets(Fixture("demo.aca"), new() { Names = new[] { "docs/README.txt" } }).Single().Replicas.Single().Files.Single();
        var ours = mine.Single(d => d.Name == "docs/README.txt").Replicas.Single().Files.Single();
        Assert.Equal((original.Name, original.Length, original.Checksum), (ours.Name, ours.Length, ours.Checksum));
    }

    [Fact]
    public void ExportsPlainFilesOfTheOriginal()
    {
        var aca = Fixture("demo.aca");
        var all = CampaignReader.Datasets(aca, new()).SelectMany(d => d.Replicas).SelectMany(r => r.Files).ToList();
        var outDir = TestEnv.NewTempDir();
        var readme = all.Single(f => f.Name == "README.txt");
        CampaignEdit.Export(aca, readme.FileId, Path.Combine(outDir, "README.txt"), null, null, false);
        Assert.Equal(File.ReadAllBytes(Source("docs/README.txt")), File.ReadAllBytes(Path.Combine(outDir, "README.txt")));
        var png = all.Single(f => f.Name == "320x200.png");
        CampaignEdit.Export(aca, png.FileId, Path.Combine(outDir, "t0.png"), null, null, false);
        Assert.Equal(File.ReadAllBytes(Source("plots/t0.png")), File.ReadAllBytes(Path.Combine(outDir, "t0.png")));
        var md0 = all.First(f => f.Name == "md.0");
        CampaignEdit.Export(aca, md0.FileId, Path.Combine(outDir, "md.0"), null, null, false);
        Assert.Equal(File.ReadAllBytes(Source("sim/run1.bp/md.0")), File.ReadAllBytes(Path.Combine(outDir, "md.0")));
    }

    [Fact]
    public void OpensTheOriginalsEncryptedBlobsWithDemoKey()
    {
        var aca = Fixture("demo-encrypted.aca");
        var keyFile = KeyFile.Load(Fixture("demo.key"));
        var key = keyFile.Unlock(ReadOnlySpan<byte>.Empty);
        var info = CampaignReader.Summary(aca);
        Assert.Equal(new[] { keyFile.Id }, info.KeyIds);
        var files = CampaignReader.Datasets(aca, new()).SelectMany(d => d.Replicas).SelectMany(r => r.Files).ToList();
        Assert.All(files, f => Assert.Equal("9d137a56f6884765942bfd88a47063ab", f.KeyId));
        var outDir = TestEnv.NewTempDir();
        var readme = files.Single(f => f.Name == "README.txt");
        CampaignEdit.Export(aca, readme.FileId, Path.Combine(outDir, "README.txt"), key, keyFile.Id, false);
        Assert.Equal(File.ReadAllBytes(Source("docs/README.txt")), File.ReadAllBytes(Path.Combine(outDir, "README.txt")));
        var h5 = files.Single(f => f.Name == "field0.h5");
        var exported = CampaignEdit.Export(aca, h5.FileId, Path.Combine(outDir, "field0.h5"), key, keyFile.Id, false);
        Assert.Equal(h5.Checksum, exported.Checksum);
        Assert.Equal(4752, exported.Length);
        Assert.True(Hdf5Stripper.IsHdf5(exported.Path));
    }
}
