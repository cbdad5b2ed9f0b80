using System.Formats.Tar;
using HpcCampaign.Engine.Campaign;
using HpcCampaign.Engine.Config;
using Microsoft.Data.Sqlite;
using static HpcCampaign.Tests.Campaign.CampaignTestData;

namespace HpcCampaign.Tests.Campaign;

public sealed class CampaignEditTests
{
    private static void Exec(string path, string sql)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void UpgradesA05ArchiveThroughEveryStep()
    {
        var aca = Path.Combine(TestEnv.NewTempDir(), "old.aca");
        CampaignDb.CreateNew(aca, false, "0.5");
        Exec(aca, "INSERT INTO host VALUES ('olcf', 'olcf.gov', 1, 0); INSERT INTO directory VALUES (1, '/data', 1, 0);" +
                  "INSERT INTO dataset VALUES ('a.h5', 'u1', 5, 0, 'HDF5', 0, 0); INSERT INTO dataset VALUES ('b.txt', 'u2', 6, 0, 'TEXT', 0, 0);" +
                  "INSERT INTO replica VALUES (1, 1, 1, 'a.h5', 5, 0, 0, 100); INSERT INTO replica VALUES (1, 1, 1, 'copy/a.h5', 5, 0, 0, 100);" +
                  "INSERT INTO replica VALUES (2, 1, 1, 'b.txt', 6, 0, 0, 3);" +
                  "INSERT INTO file VALUES (1, 'a.h5', 1, 10, 8, 5, 'aaaa', x'0102030405060708');" +
                  "INSERT INTO file VALUES (2, 'a.h5', 1, 10, 8, 5, 'aaaa', x'0102030405060708');" +
                  "INSERT INTO file VALUES (3, 'b.txt', 0, 3, 3, 6, 'bbbb', x'414243');" +
                  "INSERT INTO archive VALUES (1, 'HPSS', NULL);");
        Assert.Equal("ArchiveVersionTooOld", Assert.Throws<HpcException>(() => CampaignReader.Datasets(aca, new())).ErrorId);

        var one = CampaignUpgrader.Upgrade(aca, all: false, new CollectingSink());
        Assert.Equal(("0.5", "0.6"), (one.Single().FromVersion, one.Single().ToVersion));
        Assert.Equal("0.6", Scalar(aca, "SELECT version FROM info"));
        Assert.Equal("", Scalar(aca, "SELECT default_protocol FROM host"));
        Assert.Equal(new object?[] { 1L, 0L, "a.h5" }, Rows(aca, "SELECT rowid, archiveid, name FROM replica ORDER BY rowid").First());
        Assert.Equal(new object?[] { 1L, 1L, "", "HPSS" }, Rows(aca, "SELECT rowid, dirid, tarname, system FROM archive").Single());
        Assert.Equal(0L, Scalar(aca, "SELECT count(*) FROM archiveidx"));

        var rest = CampaignUpgrader.Upgrade(aca, all: true, new CollectingSink());
        Assert.Equal(("0.6", "0.7"), (rest.Single().FromVersion, rest.Single().ToVersion));
        Assert.Equal("0.7", Scalar(aca, "SELECT version FROM info"));
        // identical content of one dataset is one file row linked to both replicas
        Assert.Equal(new[] { (1L, "a.h5"), (3L, "b.txt") }, Rows(aca, "SELECT fileid, name FROM file ORDER BY fileid").Select(r => ((long)r[0]!, (string)r[1]!)));
        Assert.Equal(new[] { (1L, 1L), (2L, 1L), (3L, 3L) }, Rows(aca, "SELECT replicaid, fileid FROM repfiles ORDER BY replicaid").Select(r => ((long)r[0]!, (long)r[1]!)));
        var datasets = CampaignReader.Datasets(aca, new());
        Assert.Equal(2, datasets[0].Replicas.Count);
        Assert.Empty(CampaignUpgrader.Upgrade(aca, all: true, new CollectingSink()));
        var tables = Rows(aca, "SELECT sql FROM sqlite_master WHERE type='table' AND name IN ('file','repfiles','replica','archive')").Select(r => (string)r[0]!).ToList();
        Assert.Contains(tables, t => t.StartsWith("CREATE TABLE file(fileid INTEGER PRIMARY KEY"));
    }

    [Fact]
    public void AFailedUpgradeStepChangesNothing()
    {
        var aca = Path.Combine(TestEnv.NewTempDir(), "broken.aca");
        CampaignDb.CreateNew(aca, false, "0.6");
        Exec(aca, "DROP TABLE file");   // the 0.6→0.7 step cannot rename it
        var before = File.ReadAllBytes(aca);
        Assert.Throws<HpcException>(() => CampaignUpgrader.Upgrade(aca, all: true, new CollectingSink()));
        Assert.Equal(before, File.ReadAllBytes(aca));
        var old = Path.Combine(TestEnv.NewTempDir(), "v04.aca");
        CampaignDb.CreateNew(old, false, "0.5");
        CampaignArchiveTests.SetVersion(old, "0.4");
        Assert.Equal("ArchiveVersionUnsupported", Assert.Throws<HpcException>(() => CampaignUpgrader.Upgrade(old, true, new CollectingSink())).ErrorId);
    }

    [Fact]
    public void ArchivalStorageWithTarIndexAndArchivedReplicas()
    {
        var root = TestEnv.NewTempDir();
        Bp(Path.Combine(root, "run.bp"), bp5: true);
        File.WriteAllText(Path.Combine(root, "notes.txt"), "hello notes");
        var aca = Path.Combine(root, "a.aca");
        CampaignAdd.Add(new CampaignAddOptions { ArchivePath = aca, Host = Host },
            new[] { Item(root, "run.bp", CampaignItemKind.Dataset), Item(root, "notes.txt", CampaignItemKind.Text, store: true) },
            new CollectingSink(), CancellationToken.None);

        var tar = Path.Combine(root, "backup.tar");
        using (var fs = File.Create(tar))
        using (var writer = new TarWriter(fs, TarEntryFormat.Ustar))
        {
            writer.WriteEntry(Path.Combine(root, "notes.txt"), "notes.txt");
            writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "run.bp/"));
            foreach (var f in new[] { "md.0", "mmd.0", "md.idx", "data.0" }) writer.WriteEntry(Path.Combine(root, "run.bp", f), "run.bp/" + f);
        }
        var idx = tar + ".idx";
        Assert.Equal(6, TarIndex.Write(tar, idx, overwrite: false));
        var lines = File.ReadAllLines(idx);
        Assert.Equal("0,0,512,11,\"notes.txt\"", lines[0]);
        Assert.StartsWith("5,1024,1536,0,\"run.bp\"", lines[1]);
        Assert.Equal("DestinationExists", Assert.Throws<HpcException>(() => TarIndex.Write(tar, idx, false)).ErrorId);

        var storage = CampaignEdit.AddArchive(aca, "HPSS", "tape", "/hpss/proj", "backup.tar", idx, "tape.example.org", "n"u8.ToArray());
        Assert.Equal((1L, 2L, 2), (storage.ArchiveId, storage.DirectoryId, storage.ImportedReplicas));
        Assert.Equal(new object?[] { 2L, "tape", "tape.example.org", "" }, Rows(aca, "SELECT rowid, hostname, longhostname, default_protocol FROM host WHERE rowid = 2").Single());
        Assert.Equal(new object?[] { 2L, "backup.tar", "HPSS" }, Rows(aca, "SELECT dirid, tarname, system FROM archive").Single());
        var archived = Rows(aca, "SELECT rowid, datasetid, hostid, dirid, archiveid, name FROM replica WHERE archiveid = 1 ORDER BY rowid");
        Assert.Equal(2, archived.Count);
        var idxRows = Rows(aca, "SELECT replicaid, filename, offset, offset_data, size FROM archiveidx ORDER BY replicaid, filename");
        Assert.Contains(idxRows, r => (string)r[1]! == "" && (long)r[4]! == 11);
        Assert.Contains(idxRows, r => (string)r[1]! == "md.0" && (long)r[4]! == 300);
        Assert.Equal(6, idxRows.Count);
        // archived copies share the embedded files
        Assert.Equal(Scalar(aca, "SELECT count(*) FROM repfiles WHERE replicaid = 2"), Scalar(aca, $"SELECT count(*) FROM repfiles WHERE replicaid = {archived[0][0]}"));

        // the same storage again is not duplicated; https gets its protocol
        Assert.Equal(1L, CampaignEdit.AddArchive(aca, "HPSS", "tape", "/hpss/proj", "backup.tar", null, null, null).ArchiveId);
        var web = CampaignEdit.AddArchive(aca, "https", "web", "/pub", null, null, "data.example.org", null);
        Assert.Equal("https", Scalar(aca, "SELECT default_protocol FROM host WHERE hostname = 'web'"));

        // archived-replica with -Move: files move to the copy, the source is deleted
        var moved = CampaignEdit.AddArchivedReplica(aca, "notes.txt", web.DirectoryId, null, "old/notes.txt", 2, move: true);
        Assert.Equal(web.ArchiveId, moved.ArchiveId);
        Assert.True((long)Scalar(aca, "SELECT deltime FROM replica WHERE rowid = 2")! > 0);
        Assert.Equal(0L, Scalar(aca, "SELECT count(*) FROM repfiles WHERE replicaid = 2"));
        Assert.Equal(1L, Scalar(aca, $"SELECT count(*) FROM repfiles WHERE replicaid = {moved.ReplicaId}"));
        Assert.Equal("ArchiveStorageNotFound", Assert.Throws<HpcException>(() => CampaignEdit.AddArchivedReplica(aca, "run.bp", 1, null, null, null, false)).ErrorId);
        var before = File.ReadAllBytes(aca);
        Assert.Equal("DatasetNotFound", Assert.Throws<HpcException>(() => CampaignEdit.AddArchivedReplica(aca, "nope", 2, null, null, null, false)).ErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));
    }

    [Fact]
    public void TimeSeriesAddReplaceRemove()
    {
        var root = TestEnv.NewTempDir();
        for (int i = 0; i < 3; i++) File.WriteAllText(Path.Combine(root, $"t{i}.txt"), $"{i}");
        var aca = Path.Combine(root, "ts.aca");
        CampaignAdd.Add(new CampaignAddOptions { ArchivePath = aca, Host = Host },
            Enumerable.Range(0, 3).Select(i => Item(root, $"t{i}.txt", CampaignItemKind.Text)).ToList(), new CollectingSink(), CancellationToken.None);
        var sink = new CollectingSink();
        var ts = CampaignEdit.SetTimeSeries(aca, "steps", new[] { "t1.txt", "t0.txt", "missing" }, false, false, sink);
        Assert.Equal(new[] { "t1.txt", "t0.txt" }, ts.Datasets);
        Assert.Single(sink.Warnings);
        ts = CampaignEdit.SetTimeSeries(aca, "steps", new[] { "t2.txt" }, false, false, sink);
        Assert.Equal(new[] { "t1.txt", "t0.txt", "t2.txt" }, ts.Datasets);
        Assert.Equal(new[] { 1L, 0L, 2L }, Rows(aca, "SELECT tsorder FROM dataset WHERE name IN ('t0.txt','t1.txt','t2.txt') ORDER BY name").Select(r => (long)r[0]!));
        ts = CampaignEdit.SetTimeSeries(aca, "steps", new[] { "t2.txt", "t0.txt" }, true, false, sink);
        Assert.Equal(new[] { "t2.txt", "t0.txt" }, ts.Datasets);
        Assert.Equal(0L, Scalar(aca, "SELECT tsid FROM dataset WHERE name = 't1.txt'"));
        CampaignEdit.SetTimeSeries(aca, "steps", Array.Empty<string>(), false, true, sink);
        Assert.Equal(0L, Scalar(aca, "SELECT count(*) FROM timeseries"));
        Assert.Equal(0L, Scalar(aca, "SELECT sum(tsid) FROM dataset"));
    }

    [Fact]
    public void RemoteAndS3DatasetsAreRecordedAsReferences()
    {
        var root = TestEnv.NewTempDir();
        var hostsFile = Path.Combine(root, "hosts.yaml");
        File.WriteAllText(hostsFile, "bucket:\n  s3:\n    protocol: s3\n    endpoint: https://s3.example.org\nfrontier:\n  ssh:\n    protocol: ssh\n    host: frontier.olcf.gov\n    authentication: publickey\n    serverpath: ~/conn\n");
        var hosts = HostsConfig.Load(hostsFile);
        var config = new CampaignConfig { HostName = "laptop" };
        var s3 = CampaignHost.Resolve("bucket", config, hosts);
        Assert.True(s3.IsRemote && s3.IsS3);
        var aca = Path.Combine(root, "r.aca");
        var when = CampaignDb.ToNs(new DateTime(2024, 10, 22, 14, 20, 15, DateTimeKind.Utc));
        CampaignAdd.Add(new CampaignAddOptions { ArchivePath = aca, Host = s3 },
            new[] { new CampaignItemRequest { SourcePath = "runs/x.bp", ReplicaName = "runs/x.bp", Directory = "campaign-bucket", RemoteModTime = when } },
            new CollectingSink(), CancellationToken.None);
        Assert.Equal(new object?[] { "bucket", "https://s3.example.org" }, Rows(aca, "SELECT hostname, longhostname FROM host").Single());
        Assert.Equal("campaign-bucket", Scalar(aca, "SELECT name FROM directory"));
        Assert.Equal(new object?[] { "runs/x.bp", CampaignIds.Uuid3Url("campaign-bucket/runs/x.bp"), when, "ADIOS" },
            Rows(aca, "SELECT name, uuid, modtime, fileformat FROM dataset").Single());
        Assert.Equal(new object?[] { 0L, when }, Rows(aca, "SELECT size, modtime FROM replica").Single());
        Assert.Equal(0L, Scalar(aca, "SELECT count(*) FROM file"));

        var ssh = CampaignHost.Resolve("frontier", config, hosts);
        Assert.True(ssh.IsRemote && !ssh.IsS3);
        Assert.Equal("frontier.olcf.gov", ssh.LongName);
        var local = CampaignHost.Resolve(null, new CampaignConfig(), hosts);
        Assert.False(local.IsRemote);
        Assert.False(string.IsNullOrEmpty(local.ShortName));   // never an empty host name
        Assert.Equal("laptop", CampaignHost.Resolve(null, config, hosts).ShortName);
    }
}
