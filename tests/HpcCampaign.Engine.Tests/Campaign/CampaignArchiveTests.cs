using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using HpcCampaign.Engine.Campaign;
using HpcCampaign.Engine.Crypto;
using PureHDF;
using static HpcCampaign.Tests.Campaign.CampaignTestData;

namespace HpcCampaign.Tests.Campaign;

public sealed class CampaignArchiveTests
{
    private static (string Root, string Aca) Workspace()
    {
        var root = TestEnv.NewTempDir();
        Bp(Path.Combine(root, "sim", "run5.bp"), bp5: true);
        Bp(Path.Combine(root, "sim", "run4.bp"), bp5: false, seed: 2);
        Hdf5(Path.Combine(root, "sim", "field.h5"));
        Directory.CreateDirectory(Path.Combine(root, "docs"));
        File.WriteAllText(Path.Combine(root, "docs", "README.txt"), string.Concat(Enumerable.Repeat("campaign readme\n", 50)));
        File.WriteAllText(Path.Combine(root, "docs", "notes.txt"), "notes\n");
        Directory.CreateDirectory(Path.Combine(root, "plots"));
        Png(Path.Combine(root, "plots", "a.png"), 320, 200);
        Png(Path.Combine(root, "plots", "b.png"), 320, 200);
        return (root, Path.Combine(root, "test.aca"));
    }

    private static List<CampaignItemRequest> EveryKind(string root) => new()
    {
        Item(root, "sim/run5.bp", CampaignItemKind.Dataset),
        Item(root, "sim/run4.bp", CampaignItemKind.Dataset),
        Item(root, "sim/field.h5", CampaignItemKind.Dataset),
        Item(root, "docs/README.txt", CampaignItemKind.Text, store: true),
        Item(root, "docs/notes.txt", CampaignItemKind.Text),
        Item(root, "plots/a.png", CampaignItemKind.Image, store: true),
        Item(root, "plots/b.png", CampaignItemKind.Image, tw: 64, th: 64),
    };

    private static int AddAll(string aca, IReadOnlyList<CampaignItemRequest> items, byte[]? key = null, string? keyId = null, IHpcSink? sink = null) =>
        CampaignAdd.Add(new CampaignAddOptions { ArchivePath = aca, Host = Host, Key = key, KeyId = keyId, ThrottleLimit = 4 },
            items, sink ?? new CollectingSink(), CancellationToken.None);

    [Fact]
    public void EveryKindIsStoredAsTheChecklistSays()
    {
        var (root, aca) = Workspace();
        var before = CampaignDb.NowNs();
        Assert.Equal(7, AddAll(aca, EveryKind(root)));

        // 1. info row and every table
        var info = Assert.Single(Rows(aca, "SELECT id, name, version, modtime FROM info"));
        Assert.Equal(new object?[] { "ACA", "ADIOS Campaign Archive", "0.7" }, info[..3]);
        Assert.InRange((long)info[3]!, before - 1_000_000_000, CampaignDb.NowNs());
        var tables = Rows(aca, "SELECT name FROM sqlite_master WHERE type='table'").Select(r => (string)r[0]!).ToHashSet();
        foreach (var t in new[] { "info", "key", "host", "directory", "timeseries", "dataset", "replica", "file", "repfiles", "accuracy",
                     "resolution", "archive", "archiveidx", "visualization_sequence", "visualization_variable", "visualization_item", "scalar_field" })
            Assert.Contains(t, tables);
        Assert.Equal("delete", Scalar(aca, "PRAGMA journal_mode"));

        // 2. dense host/directory ids, 3. not-null columns
        Assert.Equal(new object?[] { 1L, "testhost", "testhost.example.org", 0L, "" }, Rows(aca, "SELECT rowid, hostname, longhostname, deltime, default_protocol FROM host").Single());
        Assert.Equal(new object?[] { 1L, 1L, root, 0L }, Rows(aca, "SELECT rowid, hostid, name, deltime FROM directory").Single());
        var datasets = Rows(aca, "SELECT rowid, name, uuid, modtime, deltime, fileformat, tsid, tsorder FROM dataset ORDER BY rowid");
        Assert.Equal(new[] { "sim/run5.bp", "sim/run4.bp", "sim/field.h5", "docs/README.txt", "docs/notes.txt", "plots/a.png", "plots/b.png" },
            datasets.Select(d => (string)d[1]!));
        Assert.Equal(new[] { "ADIOS", "ADIOS", "HDF5", "TEXT", "TEXT", "IMAGE", "IMAGE" }, datasets.Select(d => (string)d[5]!));
        foreach (var d in datasets)
        {
            Assert.Equal(CampaignIds.Uuid3Url(root + "/" + d[1]), d[2]);
            Assert.Matches("^[0-9a-f]{32}$", (string)d[2]!);
            Assert.Equal(0L, d[4]);
            Assert.Equal(0L, d[6]);
            Assert.Equal(0L, d[7]);
            var source = Path.Combine(root, (string)d[1]!);
            var mtime = Directory.Exists(source) ? Directory.GetLastWriteTimeUtc(source) : File.GetLastWriteTimeUtc(source);
            Assert.Equal(CampaignDb.ToNs(mtime), d[3]);   // nanoseconds
        }
        var replicas = Rows(aca, "SELECT rowid, datasetid, hostid, dirid, archiveid, name, modtime, deltime, keyid, size FROM replica ORDER BY rowid");
        Assert.Equal(8, replicas.Count);   // b.png has a thumbnail replica
        Assert.All(replicas, r => Assert.DoesNotContain(null, r));
        Assert.All(replicas, r => { Assert.Equal(0L, r[4]); Assert.Equal(0L, r[7]); Assert.Equal(0L, r[8]); });
        Assert.Equal(4000L + 300 + 100 + 64 + "[{\"rank\":0}]".Length, replicas[0][9]);
        Assert.Equal(new FileInfo(Path.Combine(root, "sim/field.h5")).Length, replicas[2][9]);
        Assert.Equal("thumbnails/plots/b.png", replicas[7][5]);
        Assert.Equal(7L, replicas[7][1]);

        var resolutions = Rows(aca, "SELECT replicaid, x, y FROM resolution ORDER BY replicaid");
        Assert.Equal(new[] { (6L, 320L, 200L), (7L, 320L, 200L), (8L, 64L, 40L) }, resolutions.Select(r => ((long)r[0]!, (long)r[1]!, (long)r[2]!)));

        var files = Rows(aca, "SELECT f.fileid, rf.replicaid, f.name, f.compression, f.lenorig, f.lencompressed, f.modtime, f.checksum, f.data FROM file f JOIN repfiles rf ON rf.fileid = f.fileid ORDER BY f.fileid");
        Assert.Equal(new[] { "metadata", "profiling.json", "metadata", "profiling.json", "field.h5", "README.txt", "320x200.png", "64x40.png" },
            files.Select(f => (string)f[2]!));
        Assert.Equal(new[] { 1L, 1, 2, 2, 3, 4, 6, 8 }, files.Select(f => (long)f[1]!));
        foreach (var f in files)
        {
            Assert.DoesNotContain(null, f);
            var data = (byte[])f[8]!;
            var compressed = (long)f[3]! == 1;
            Assert.Equal(compressed ? f[5] : f[4], (long)data.Length);
            var plain = compressed ? Inflate(data) : data;
            Assert.Equal((long)f[4]!, plain.Length);
            Assert.Equal(Convert.ToHexString(SHA1.HashData(plain)).ToLowerInvariant(), f[7]);
            if (compressed) Assert.Equal(0x78, data[0]);   // zlib stream, not raw deflate or gzip
        }
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 0, 0 }, files.Select(f => (long)f[3]!));
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "plots/a.png")), (byte[])files[6][8]!);
        Assert.Equal(File.ReadAllText(Path.Combine(root, "docs/README.txt")), Encoding.UTF8.GetString(Inflate((byte[])files[5][8]!)));

        // BP5 metadata blob: "BP5     ", u64 len(md.0), len(mmd.0), len(md.idx), then the three files
        var bp5 = Inflate((byte[])files[0][8]!);
        var dir5 = Path.Combine(root, "sim/run5.bp");
        var expected5 = Encoding.ASCII.GetBytes("BP5     ").Concat(BitConverter.GetBytes(300UL)).Concat(BitConverter.GetBytes(100UL)).Concat(BitConverter.GetBytes(64UL))
            .Concat(File.ReadAllBytes(Path.Combine(dir5, "md.0"))).Concat(File.ReadAllBytes(Path.Combine(dir5, "mmd.0"))).Concat(File.ReadAllBytes(Path.Combine(dir5, "md.idx"))).ToArray();
        Assert.Equal(expected5, bp5);
        var bp4 = Inflate((byte[])files[2][8]!);
        var dir4 = Path.Combine(root, "sim/run4.bp");
        var expected4 = Encoding.ASCII.GetBytes("BP4     ").Concat(BitConverter.GetBytes(300UL)).Concat(BitConverter.GetBytes(64UL))
            .Concat(File.ReadAllBytes(Path.Combine(dir4, "md.0"))).Concat(File.ReadAllBytes(Path.Combine(dir4, "md.idx"))).ToArray();
        Assert.Equal(expected4, bp4);
        Assert.Equal((long)datasets[0][3]!, files[0][6]);

        // stripped HDF5: small data kept, big dataset same shape, attributes kept
        var stripped = Path.Combine(root, "stripped.h5");
        File.WriteAllBytes(stripped, Inflate((byte[])files[4][8]!));
        using (var h5 = H5File.OpenRead(stripped))
        {
            Assert.Equal(Enumerable.Range(1, 10).ToArray(), h5.Dataset("small").Read<int[]>());
            var big = h5.Group("group").Dataset("big");
            Assert.Equal(new ulong[] { 1000 }, big.Space.Dimensions);
            Assert.Equal(8, big.Type.Size);
            Assert.Equal("m", big.Attribute("units").Read<string>());
            Assert.Equal("demo", h5.Attribute("title").Read<string>());
        }
        Assert.True(new FileInfo(stripped).Length < 8000 + new FileInfo(Path.Combine(root, "sim/field.h5")).Length);
    }

    internal static byte[] Inflate(byte[] data)
    {
        using var z = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
        var ms = new MemoryStream();
        z.CopyTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public void EncryptedBlobsAreSealedAndExportRoundTrips()
    {
        var (root, aca) = Workspace();
        var keyPath = Path.Combine(root, "k.key");
        var keyFile = KeyFile.Create(keyPath, "t", ReadOnlySpan<byte>.Empty, overwrite: false);
        var key = keyFile.Unlock(ReadOnlySpan<byte>.Empty);
        Assert.Equal(7, AddAll(aca, EveryKind(root), key, keyFile.Id));
        Assert.Equal(keyFile.Id, Scalar(aca, "SELECT keyid FROM key WHERE rowid = 1"));
        Assert.All(Rows(aca, "SELECT keyid FROM replica"), r => Assert.Equal(1L, r[0]));
        foreach (var f in Rows(aca, "SELECT compression, lenorig, lencompressed, length(data) FROM file"))
            Assert.Equal(40 + ((long)f[0]! == 1 ? (long)f[2]! : (long)f[1]!), f[3]);

        // listing needs no key
        var listed = CampaignReader.Datasets(aca, new CampaignDatasetFilter());
        Assert.Equal(7, listed.Count);
        var readme = listed.Single(d => d.Name == "docs/README.txt").Replicas.Single().Files.Single();
        Assert.True(readme.IsEncrypted);
        Assert.Equal(keyFile.Id, readme.KeyId);

        var outDir = TestEnv.NewTempDir();
        var exported = CampaignEdit.Export(aca, readme.FileId, Path.Combine(outDir, "README.txt"), key, keyFile.Id, false);
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "docs/README.txt")), File.ReadAllBytes(exported.Path));
        var png = listed.Single(d => d.Name == "plots/a.png").Replicas.Single().Files.Single();
        CampaignEdit.Export(aca, png.FileId, Path.Combine(outDir, "a.png"), key, keyFile.Id, false);
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "plots/a.png")), File.ReadAllBytes(Path.Combine(outDir, "a.png")));

        var none = Assert.Throws<HpcException>(() => CampaignEdit.Export(aca, readme.FileId, Path.Combine(outDir, "x"), null, null, false));
        Assert.Equal("KeyRequired", none.ErrorId);
        var otherKey = RandomNumberGenerator.GetBytes(32);
        var wrong = Assert.Throws<HpcException>(() => CampaignEdit.Export(aca, readme.FileId, Path.Combine(outDir, "x"), otherKey, null, false));
        Assert.Equal("WrongKey", wrong.ErrorId);
        var wrongId = Assert.Throws<HpcException>(() => CampaignEdit.Export(aca, readme.FileId, Path.Combine(outDir, "x"), otherKey, "0123", false));
        Assert.Equal("WrongKey", wrongId.ErrorId);
        Assert.False(File.Exists(Path.Combine(outDir, "x")));
    }

    [Fact]
    public void ExportRoundTripsPlainAndCompressedBlobsAndRefusesToOverwrite()
    {
        var (root, aca) = Workspace();
        AddAll(aca, EveryKind(root));
        var all = CampaignReader.Datasets(aca, new CampaignDatasetFilter()).SelectMany(d => d.Replicas).SelectMany(r => r.Files).ToList();
        var outDir = TestEnv.NewTempDir();
        var text = all.Single(f => f.Name == "README.txt");
        Assert.True(text.IsCompressed);
        var result = CampaignEdit.Export(aca, text.FileId, Path.Combine(outDir, text.Name), null, null, false);
        Assert.Equal(text.Checksum, result.Checksum);
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "docs/README.txt")), File.ReadAllBytes(result.Path));
        var image = all.Single(f => f.Name == "320x200.png");
        Assert.False(image.IsCompressed);
        CampaignEdit.Export(aca, image.FileId, Path.Combine(outDir, image.Name), null, null, false);
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "plots/a.png")), File.ReadAllBytes(Path.Combine(outDir, image.Name)));
        var exists = Assert.Throws<HpcException>(() => CampaignEdit.Export(aca, text.FileId, Path.Combine(outDir, text.Name), null, null, false));
        Assert.Equal("DestinationExists", exists.ErrorId);
        var missing = Assert.Throws<HpcException>(() => CampaignEdit.Export(aca, 999, Path.Combine(outDir, "y"), null, null, false));
        Assert.Equal("FileNotFound", missing.ErrorId);
    }

    [Fact]
    public void ADamagedBlobFailsTheChecksum()
    {
        var (root, aca) = Workspace();
        AddAll(aca, new[] { Item(root, "plots/a.png", CampaignItemKind.Image, store: true) });
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={aca};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE file SET checksum = '0000000000000000000000000000000000000000'";
            cmd.ExecuteNonQuery();
        }
        var ex = Assert.Throws<HpcException>(() => CampaignEdit.Export(aca, 1, Path.Combine(root, "out.png"), null, null, false));
        Assert.Equal("ChecksumMismatch", ex.ErrorId);
        Assert.False(File.Exists(Path.Combine(root, "out.png")));
    }

    [Fact]
    public void AFailedCallLeavesTheFileByteForByteUnchanged()
    {
        var (root, aca) = Workspace();
        AddAll(aca, EveryKind(root).Take(3).ToList());
        var before = File.ReadAllBytes(aca);
        File.WriteAllText(Path.Combine(root, "docs", "plain.dat"), "not a dataset");
        var sink = new CollectingSink();
        var items = new List<CampaignItemRequest>
        {
            Item(root, "docs/README.txt", CampaignItemKind.Text, store: true),
            Item(root, "docs/plain.dat", CampaignItemKind.Dataset),
            Item(root, "plots/a.png", CampaignItemKind.Image, store: true),
        };
        Assert.Equal(0, AddAll(aca, items, sink: sink));
        Assert.Equal("UnknownDatasetFormat", Assert.Single(sink.Errors).ErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));
        Assert.False(File.Exists(aca + "-journal"));

        File.WriteAllText(Path.Combine(root, "docs", "it's.txt"), "quote");
        sink = new CollectingSink();
        AddAll(aca, new[] { Item(root, "docs/it's.txt", CampaignItemKind.Text, store: true) }, sink: sink);
        Assert.Equal("NameContainsQuote", Assert.Single(sink.Errors).ErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));

        sink = new CollectingSink();
        AddAll(aca, new[] { Item(root, "docs/gone.txt", CampaignItemKind.Text) }, sink: sink);
        Assert.Equal("SourceNotFound", Assert.Single(sink.Errors).ErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));

        var remove = Assert.Throws<HpcException>(() => CampaignEdit.Remove(aca, new[] { "sim/run5.bp", "no/such" }, Array.Empty<string>(), Array.Empty<long>()));
        Assert.Equal("DatasetNotFound", remove.ErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));

        // a new archive is not left behind when its first call fails
        var fresh = Path.Combine(root, "fresh.aca");
        AddAll(fresh, new[] { Item(root, "docs/plain.dat", CampaignItemKind.Dataset) });
        Assert.False(File.Exists(fresh));
    }

    [Fact]
    public void OpeningChecksFormatAndVersion()
    {
        var root = TestEnv.NewTempDir();
        var junk = Path.Combine(root, "junk.aca");
        File.WriteAllText(junk, "this is not sqlite at all, just some text that is long enough to look like a header......................................");
        Assert.Equal("NotACampaignArchive", Assert.Throws<HpcException>(() => CampaignReader.Summary(junk)).ErrorId);
        var other = Path.Combine(root, "other.aca");
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={other};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "CREATE TABLE t(x)";
            cmd.ExecuteNonQuery();
        }
        Assert.Equal("NotACampaignArchive", Assert.Throws<HpcException>(() => CampaignReader.Datasets(other, new())).ErrorId);
        var newer = Path.Combine(root, "newer.aca");
        CampaignDb.CreateNew(newer, false);
        SetVersion(newer, "0.8");
        Assert.Equal("ArchiveVersionTooNew", Assert.Throws<HpcException>(() => CampaignReader.Datasets(newer, new())).ErrorId);
        var older = Path.Combine(root, "older.aca");
        CampaignDb.CreateNew(older, false, "0.6");
        var ex = Assert.Throws<HpcException>(() => CampaignReader.Datasets(older, new()));
        Assert.Equal("ArchiveVersionTooOld", ex.ErrorId);
        Assert.Contains("Update-Campaign", ex.RecommendedAction);
        Assert.Equal("ArchiveNotFound", Assert.Throws<HpcException>(() => CampaignReader.Datasets(Path.Combine(root, "none.aca"), new())).ErrorId);
        Assert.Equal("ArchiveExists", Assert.Throws<HpcException>(() => CampaignDb.CreateNew(older, false)).ErrorId);
    }

    internal static void SetVersion(string path, string version)
    {
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "UPDATE info SET version = $v";
        cmd.Parameters.AddWithValue("$v", version);
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void RemoveIsASoftDeleteExactlyAsTheSpec()
    {
        var (root, aca) = Workspace();
        AddAll(aca, EveryKind(root));
        Assert.Equal(1, CampaignEdit.Remove(aca, new[] { "docs/README.txt" }, Array.Empty<string>(), Array.Empty<long>()));
        var ds = Rows(aca, "SELECT deltime FROM dataset WHERE name = 'docs/README.txt'").Single();
        Assert.True((long)ds[0]! > 0);
        Assert.True((long)Scalar(aca, "SELECT deltime FROM replica WHERE rowid = 4")! > 0);
        Assert.Equal(1L, Scalar(aca, "SELECT count(*) FROM repfiles WHERE replicaid = 4"));   // files stay

        // by uuid
        var uuid = (string)Scalar(aca, "SELECT uuid FROM dataset WHERE name = 'sim/run4.bp'")!;
        CampaignEdit.Remove(aca, Array.Empty<string>(), new[] { uuid }, Array.Empty<long>());
        Assert.True((long)Scalar(aca, "SELECT deltime FROM dataset WHERE name = 'sim/run4.bp'")! > 0);

        // by replica: the thumbnail replica of b.png goes with its file; the dataset stays (one live replica left)
        CampaignEdit.Remove(aca, Array.Empty<string>(), Array.Empty<string>(), new[] { 8L });
        Assert.True((long)Scalar(aca, "SELECT deltime FROM replica WHERE rowid = 8")! > 0);
        Assert.Equal(0L, Scalar(aca, "SELECT count(*) FROM repfiles WHERE replicaid = 8"));
        Assert.Equal(0L, Scalar(aca, "SELECT count(*) FROM file WHERE name = '64x40.png'"));
        Assert.Equal(0L, Scalar(aca, "SELECT deltime FROM dataset WHERE name = 'plots/b.png'"));
        CampaignEdit.Remove(aca, Array.Empty<string>(), Array.Empty<string>(), new[] { 7L });
        Assert.True((long)Scalar(aca, "SELECT deltime FROM dataset WHERE name = 'plots/b.png'")! > 0);

        Assert.Equal(4, CampaignReader.Datasets(aca, new()).Count);
        Assert.Equal(7, CampaignReader.Datasets(aca, new() { IncludeDeleted = true }).Count);
        Assert.Single(CampaignReader.Datasets(aca, new() { Names = new[] { "sim/*" }, Formats = new[] { "adios" } }));

        // re-adding revives the same row and keeps its uuid
        AddAll(aca, new[] { Item(root, "docs/README.txt", CampaignItemKind.Text, store: true) });
        Assert.Equal(0L, Scalar(aca, "SELECT deltime FROM dataset WHERE name = 'docs/README.txt'"));
        Assert.Equal(1L, Scalar(aca, "SELECT count(*) FROM repfiles WHERE replicaid = 4"));
    }
}
