using System.Management.Automation;
using Microsoft.Data.Sqlite;

namespace HpcCampaign.Tests.Campaign;

/// <summary>The campaign cmdlets in a real runspace, on copies of the original tool's demo source folder.</summary>
public sealed class CampaignCmdletTests
{
    private const string Ns = "HpcCampaign.Commands.Campaign.";

    private static string CopySource()
    {
        var dir = TestEnv.NewTempDir();
        var source = Path.Combine(TestEnv.Fixtures, "campaign", "demo-campaign-source");
        foreach (var f in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
            File.SetAttributes(target, FileAttributes.Normal);
        }
        return dir;
    }

    private static object? P(PSObject o, string name) => o.Properties[name].Value;

    private static object? Scalar(string aca, string sql)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = aca, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static PsSession At(string dir)
    {
        var s = new PsSession();
        s.Run($"$ExecutionContext.SessionState.Path.SetLocation('{dir}') | Out-Null").AssertNoErrors();
        return s;
    }

    [Fact]
    public void BuildsAnArchiveWithEveryKindAndListsIt()
    {
        var dir = CopySource();
        using var s = At(dir);
        var r = s.Run("""
            New-Campaign demo | Out-Null
            Add-CampaignDataset demo.aca sim/run1.bp, sim/run2.bp, sim/*.h5 -HostName demohost
            'docs/README.txt' | Add-CampaignText demo.aca -Store
            Add-CampaignText demo.aca docs/notes.txt -PassThru
            Add-CampaignImage demo.aca plots/t0.png -Store
            Add-CampaignImage demo.aca plots/t1.png -Thumbnail 64,64
            Get-CampaignDataset demo.aca -Format IMAGE | ForEach-Object Name | Set-CampaignTimeSeries demo.aca temps
            """);
        r.AssertNoErrors();
        var passThru = r.Output.Where(o => o.BaseObject.GetType().Name == "CampaignDataset").ToList();
        Assert.Equal("docs/notes.txt", P(Assert.Single(passThru), "Name"));
        var aca = Path.Combine(dir, "demo.aca");
        Assert.Equal("0.7", Scalar(aca, "SELECT version FROM info"));
        Assert.Equal("demohost", Scalar(aca, "SELECT hostname FROM host WHERE rowid = 1"));
        Assert.NotEqual("", Scalar(aca, "SELECT hostname FROM host WHERE rowid = 2"));   // machine name, never empty
        Assert.Equal(8L, Scalar(aca, "SELECT count(*) FROM dataset"));
        Assert.Equal("temps", Scalar(aca, "SELECT t.name FROM dataset d JOIN timeseries t ON t.tsid = d.tsid WHERE d.name = 'plots/t1.png'"));

        var list = s.Run("Get-CampaignDataset demo.aca -Name 'sim/*' -Format HDF5");
        list.AssertNoErrors();
        Assert.Equal(new[] { "sim/field0.h5", "sim/field1.h5" }, list.Output.Select(o => (string)P(o, "Name")!));
        Assert.Equal(Scalar(aca, "SELECT uuid FROM dataset WHERE name = 'sim/field0.h5'"), P(list.Output[0], "Uuid"));

        var summary = s.Run("Get-Campaign demo.aca");
        summary.AssertNoErrors();
        Assert.Equal(8, P(Assert.Single(summary.Output), "DatasetCount"));
        var store = s.Run("Get-Campaign -Store . -Name 'demo*'");
        store.AssertNoErrors();
        Assert.Single(store.Output);
    }

    [Fact]
    public void PipelineRemoveHonoursWhatIfAndThenDeletes()
    {
        var dir = CopySource();
        using var s = At(dir);
        s.Run("Add-CampaignDataset x.aca sim/run1.bp, sim/run2.bp, sim/field0.h5").AssertNoErrors();
        var aca = Path.Combine(dir, "x.aca");
        var before = File.ReadAllBytes(aca);
        var whatIf = s.Run("Get-CampaignDataset x.aca -Name 'sim/run*' | Remove-CampaignDataset -WhatIf");
        whatIf.AssertNoErrors();
        Assert.Equal(before, File.ReadAllBytes(aca));
        var real = s.Run("Get-CampaignDataset x.aca -Name 'sim/run*' | Remove-CampaignDataset");
        real.AssertNoErrors();
        Assert.Equal(2L, Scalar(aca, "SELECT count(*) FROM dataset WHERE deltime > 0"));
        Assert.Equal(2L, Scalar(aca, "SELECT count(*) FROM replica WHERE deltime > 0"));
        var left = s.Run("Get-CampaignDataset x.aca");
        Assert.Equal("sim/field0.h5", P(Assert.Single(left.Output), "Name"));
        Assert.Equal(3, s.Run("Get-CampaignDataset x.aca -IncludeDeleted").Output.Count);
        // replicas through the pipeline
        s.Run("(Get-CampaignDataset x.aca).Replicas | Remove-CampaignDataset").AssertNoErrors();
        Assert.Equal(0L, Scalar(aca, "SELECT count(*) FROM file WHERE name = 'field0.h5'"));
        var missing = s.Run("Remove-CampaignDataset x.aca -Name nothing");
        Assert.Equal("DatasetNotFound," + Ns + "RemoveCampaignDatasetCommand", Assert.Single(missing.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void EncryptedArchiveExportsWithTheKeyOnly()
    {
        var dir = CopySource();
        using var s = At(dir);
        var r = s.Run("""
            New-CampaignKey -Path ./k.key | Out-Null
            New-CampaignKey -Path ./other.key | Out-Null
            Add-CampaignText enc.aca docs/README.txt -Store -Key ./k.key
            Add-CampaignDataset enc.aca sim/field0.h5 -Key ./k.key
            [System.IO.Directory]::CreateDirectory("$PWD/out") | Out-Null
            (Get-CampaignDataset enc.aca -Name docs/README.txt).Replicas.Files | Export-CampaignFile -Key ./k.key -Destination ./out
            """);
        r.AssertNoErrors();
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "docs/README.txt")), File.ReadAllBytes(Path.Combine(dir, "out/README.txt")));
        var exported = r.Output.Single(o => o.BaseObject.GetType().Name == "CampaignExportedFile");
        Assert.Equal(Path.Combine(dir, "out", "README.txt"), P(exported, "Path"));
        var noKey = s.Run("(Get-CampaignDataset enc.aca -Name docs/README.txt).Replicas.Files | Export-CampaignFile -Destination ./out/nokey.txt");
        Assert.Equal("KeyRequired," + Ns + "ExportCampaignFileCommand", Assert.Single(noKey.Errors).FullyQualifiedErrorId);
        var wrong = s.Run("(Get-CampaignDataset enc.aca -Name docs/README.txt).Replicas.Files | Export-CampaignFile -Key ./other.key -Destination ./out/wrong.txt");
        Assert.Equal("WrongKey," + Ns + "ExportCampaignFileCommand", Assert.Single(wrong.Errors).FullyQualifiedErrorId);
        Assert.False(File.Exists(Path.Combine(dir, "out/nokey.txt")));
        Assert.False(File.Exists(Path.Combine(dir, "out/wrong.txt")));
        var h5 = s.Run("(Get-CampaignDataset enc.aca -Format HDF5).Replicas | ForEach-Object { $_.KeyId }");
        Assert.Matches("^[0-9a-f]{32}$", (string)h5.Output.Single().BaseObject);
    }

    [Fact]
    public void ProtectedKeysTakeAPassword()
    {
        var dir = CopySource();
        using var s = At(dir);
        var vars = new Dictionary<string, object?> { ["pw"] = TestSetup.Secure("correct horse"), ["bad"] = TestSetup.Secure("wrong") };
        var r = s.Run("""
            New-CampaignKey -Path ./p.key -Password $pw | Out-Null
            Add-CampaignText p.aca docs/README.txt -Store -Key ./p.key -Password $pw
            (Get-CampaignDataset p.aca).Replicas.Files | ForEach-Object { $_.StoredLength - $_.CompressedLength }
            """, vars);   // each Argon2i derivation costs 512 MiB and seconds: the export side is covered with plain keys
        r.AssertNoErrors();
        Assert.Equal(40L, Assert.Single(r.Output).BaseObject);
        var before = File.ReadAllBytes(Path.Combine(dir, "p.aca"));
        var wrong = s.Run("Add-CampaignText p.aca docs/notes.txt -Store -Key ./p.key -Password $bad", vars);
        Assert.Equal("WrongPassword," + Ns + "AddCampaignTextCommand", Assert.Single(wrong.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "p.aca")));
    }

    [Fact]
    public void ErrorsHaveTheirOwnIdsAndLeaveTheArchiveUnchanged()
    {
        var dir = CopySource();
        using var s = At(dir);
        s.Run("Add-CampaignText e.aca docs/README.txt -Store").AssertNoErrors();
        var aca = Path.Combine(dir, "e.aca");
        var before = File.ReadAllBytes(aca);
        File.WriteAllText(Path.Combine(dir, "docs", "it's.txt"), "q");
        var quote = s.Run("Add-CampaignText e.aca \"docs/it's.txt\", docs/notes.txt -Store");
        Assert.Equal("NameContainsQuote," + Ns + "AddCampaignTextCommand", Assert.Single(quote.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));
        var notData = s.Run("Add-CampaignDataset e.aca docs/notes.txt");
        Assert.Equal("UnknownDatasetFormat," + Ns + "AddCampaignDatasetCommand", Assert.Single(notData.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));
        var missing = s.Run("Add-CampaignText e.aca docs/none.txt");
        Assert.StartsWith("PathNotFound,", Assert.Single(missing.Errors).FullyQualifiedErrorId);
        File.WriteAllText(Path.Combine(dir, "bad.aca"), new string('x', 200));
        var notArchive = s.Run("Get-CampaignDataset bad.aca");
        Assert.Equal("NotACampaignArchive," + Ns + "GetCampaignDatasetCommand", Assert.Single(notArchive.Errors).FullyQualifiedErrorId);
        var noArchive = s.Run("Get-CampaignDataset none.aca");
        Assert.Equal("ArchiveNotFound," + Ns + "GetCampaignDatasetCommand", Assert.Single(noArchive.Errors).FullyQualifiedErrorId);
        var exists = s.Run("New-Campaign e.aca");
        Assert.Equal("ArchiveExists," + Ns + "NewCampaignCommand", Assert.Single(exists.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));
    }

    [Fact]
    public void WildcardSourcesMatchLikePowerShellGlobbing()
    {
        var dir = CopySource();
        File.WriteAllText(Path.Combine(dir, "docs", ".hidden.txt"), "h");
        using var s = At(dir);
        var none = s.Run("Add-CampaignText w.aca docs/*.md");
        Assert.Equal("PathNotFound," + Ns + "AddCampaignTextCommand", Assert.Single(none.Errors).FullyQualifiedErrorId);
        Assert.False(File.Exists(Path.Combine(dir, "w.aca")));
        s.Run("Add-CampaignText w.aca docs/*.TXT").AssertNoErrors();
        var names = s.Run("Get-CampaignDataset w.aca | ForEach-Object Name");
        Assert.Equal(new[] { "docs/README.txt", "docs/notes.txt" }, names.Output.Select(o => (string)o.BaseObject));
        s.Run("Add-CampaignImage w.aca plots/t[01].png -Store").AssertNoErrors();
        Assert.Equal(2L, Scalar(Path.Combine(dir, "w.aca"), "SELECT count(*) FROM dataset WHERE fileformat = 'IMAGE'"));
    }

    [Fact]
    public void UpdateCampaignUpgradesAnOlderArchive()
    {
        var dir = TestEnv.NewTempDir();
        var aca = Path.Combine(dir, "old.aca");
        using (var db = new SqliteConnection($"Data Source={aca};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE info(id TEXT, name TEXT, version TEXT, modtime INT);
                INSERT INTO info VALUES ('ACA', 'ADIOS Campaign Archive', '0.6', 1);
                CREATE TABLE key(keyid TEXT PRIMARY KEY);
                CREATE TABLE host(hostname TEXT PRIMARY KEY, longhostname TEXT, modtime INT, deltime INT, default_protocol TEXT);
                CREATE TABLE directory(hostid INT, name TEXT, modtime INT, deltime INT, PRIMARY KEY (hostid, name));
                CREATE TABLE timeseries(tsid INTEGER PRIMARY KEY, name TEXT UNIQUE);
                CREATE TABLE dataset(name TEXT, uuid TEXT, modtime INT, deltime INT, fileformat TEXT, tsid INT, tsorder INT, PRIMARY KEY (name));
                CREATE TABLE replica(datasetid INT, hostid INT, dirid INT, archiveid INT, name TEXT, modtime INT, deltime INT, keyid INT, size INT, PRIMARY KEY (datasetid, hostid, dirid, archiveid, name));
                CREATE TABLE file(replicaid INT, name TEXT, compression INT, lenorig INT, lencompressed INT, modtime INT, checksum TEXT, data BLOB, PRIMARY KEY (replicaid, name));
                CREATE TABLE accuracy(replicaid INT, accuracy REAL, norm REAL, relative INT, PRIMARY KEY (replicaid));
                CREATE TABLE resolution(replicaid INT, x INT, y INT, PRIMARY KEY (replicaid));
                CREATE TABLE archive(dirid INT, tarname TEXT, system TEXT, notes BLOB, PRIMARY KEY (dirid, tarname));
                CREATE TABLE archiveidx(archiveid INT, replicaid INT, filename TEXT, offset INT, offset_data INT, size INT, PRIMARY KEY (archiveid, replicaid, filename));
                INSERT INTO host VALUES ('h', 'h.org', 1, 0, ''); INSERT INTO directory VALUES (1, '/d', 1, 0);
                INSERT INTO dataset VALUES ('a.txt', 'u', 1, 0, 'TEXT', 0, 0); INSERT INTO replica VALUES (1, 1, 1, 0, 'a.txt', 1, 0, 0, 3);
                INSERT INTO file VALUES (1, 'a.txt', 0, 3, 3, 1, 'a9993e364706816aba3e25717850c26c9cd0d89d', x'616263');
                """;
            cmd.ExecuteNonQuery();
        }
        using var s = At(dir);
        var old = s.Run("Get-CampaignDataset old.aca");
        var err = Assert.Single(old.Errors);
        Assert.Equal("ArchiveVersionTooOld," + Ns + "GetCampaignDatasetCommand", err.FullyQualifiedErrorId);
        Assert.Contains("Update-Campaign", err.ErrorDetails.RecommendedAction);
        var whatIf = s.Run("Update-Campaign old.aca -WhatIf");
        whatIf.AssertNoErrors();
        Assert.Equal("0.6", Scalar(aca, "SELECT version FROM info"));
        var up = s.Run("Update-Campaign old.aca");
        up.AssertNoErrors();
        Assert.Equal("0.7", P(Assert.Single(up.Output), "ToVersion"));
        var files = s.Run("(Get-CampaignDataset old.aca).Replicas.Files | Export-CampaignFile -Destination ./a.txt");
        files.AssertNoErrors();
        Assert.Equal("abc", File.ReadAllText(Path.Combine(dir, "a.txt")));
    }

    [Fact]
    public void ArchiveStorageTarIndexAndArchivedReplica()
    {
        var dir = CopySource();
        using (var fs = File.Create(Path.Combine(dir, "docs.tar")))
        using (var tar = new System.Formats.Tar.TarWriter(fs, System.Formats.Tar.TarEntryFormat.Ustar))
            tar.WriteEntry(Path.Combine(dir, "docs/README.txt"), "docs/README.txt");
        using var s = At(dir);
        var r = s.Run("""
            Add-CampaignText t.aca docs/README.txt, docs/notes.txt -Store
            New-CampaignTarIndex docs.tar
            Add-CampaignArchive t.aca HPSS tape /hpss/demo docs.tar docs.tar.idx
            Add-CampaignArchive t.aca fs nas /backup
            Add-CampaignReplica t.aca docs/notes.txt 3 -Move
            """);
        r.AssertNoErrors();
        var idx = r.Output.Single(o => o.BaseObject.GetType().Name == "CampaignTarIndex");
        Assert.Equal(1, P(idx, "EntryCount"));
        var storages = r.Output.Where(o => o.BaseObject.GetType().Name == "CampaignArchiveStorage").ToList();
        Assert.Equal(1, P(storages[0], "ImportedReplicas"));
        Assert.Equal(3L, P(storages[1], "DirectoryId"));
        var replica = r.Output.Single(o => o.BaseObject.GetType().Name == "CampaignReplica");
        Assert.Equal(2L, P(replica, "ArchiveId"));
        Assert.Equal("fs", P(replica, "ArchiveSystem"));
        var aca = Path.Combine(dir, "t.aca");
        Assert.Equal(1L, Scalar(aca, "SELECT count(*) FROM archiveidx"));
        Assert.Equal(1L, Scalar(aca, "SELECT count(*) FROM replica WHERE deltime > 0"));
    }
}

public sealed class CampaignScalarAndVisualizationCmdletTests
{
    [Fact]
    public void ScalarFieldsAndAVisualizationSequence()
    {
        var dir = TestEnv.NewTempDir();
        File.WriteAllBytes(Path.Combine(dir, "f0.raw"), Enumerable.Range(0, 12).Select(i => (byte)i).ToArray());
        File.WriteAllBytes(Path.Combine(dir, "f1.raw"), Enumerable.Range(10, 12).Select(i => (byte)i).ToArray());
        File.WriteAllText(Path.Combine(dir, "run.txt"), "source");
        File.WriteAllText(Path.Combine(dir, "vis.json"),
            "{\"name\": \"seq\", \"vis_type\": \"heatmap\", \"source_dataset\": \"run.txt\", \"variables\": [\"v\"], \"items\": [\"fields/f0\", \"fields/f1\"]}");
        using var s = new PsSession();
        var r = s.Run($"""
            $ExecutionContext.SessionState.Path.SetLocation('{dir}') | Out-Null
            Add-CampaignText v.aca run.txt
            Add-CampaignScalarField v.aca f0.raw -Shape 3,4 -DataType uint8 -Name fields/f0 -PassThru
            Add-CampaignScalarField v.aca f1.raw -Shape 3,4 -DataType uint8 -Name fields/f1
            Add-CampaignVisualization v.aca vis.json
            """);
        r.AssertNoErrors();
        var field = r.Output.Single(o => o.BaseObject.GetType().Name == "CampaignDataset");
        Assert.Equal("SCALAR_FIELD", field.Properties["Format"].Value);
        var vis = r.Output.Single(o => o.BaseObject.GetType().Name == "CampaignVisualization");
        Assert.Equal(2, ((System.Collections.ICollection)vis.Properties["Items"].Value!).Count);
        var again = s.Run("Add-CampaignVisualization v.aca vis.json");
        Assert.Equal("VisualizationExists,HpcCampaign.Commands.Campaign.AddCampaignVisualizationCommand", Assert.Single(again.Errors).FullyQualifiedErrorId);
        s.Run("Add-CampaignVisualization v.aca vis.json -Replace").AssertNoErrors();
    }
}
