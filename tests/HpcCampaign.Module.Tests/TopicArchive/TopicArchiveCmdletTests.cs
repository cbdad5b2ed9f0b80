using System.Diagnostics;
using System.Management.Automation;

namespace HpcCampaign.Tests.TopicArchive;

/// <summary>The topic-archive cmdlets in a real runspace against the real broker, SQLite + folder and PostgreSQL + S3.</summary>
public class TopicArchiveCmdletTests
{
    private static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static (string Host, string Port, string User, string Db) Pg()
    {
        var parts = TestEnv.PostgresConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (parts["host"], parts["port"], parts["username"], parts["database"]);
    }

    /// <summary>Runs SQL through the psql client (the module tests have no database driver of their own).</summary>
    private static string Psql(string db, string sql)
    {
        var (host, port, user, _) = Pg();
        var psi = new ProcessStartInfo("psql") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-h", host, "-p", port, "-U", user, "-d", db, "-qAtc", sql }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        Assert.True(p.ExitCode == 0, err);
        return output.Trim();
    }

    private static string Backend(string backend, string dir, out string? database)
    {
        database = null;
        if (backend == "sqlite") return $"-StorePath '{dir}/store' -IndexPath '{dir}/index.sqlite'";
        database = "tac_" + Guid.NewGuid().ToString("N")[..12];
        Psql(Pg().Db, $"CREATE DATABASE {database}");
        var (host, port, user, _) = Pg();
        return $"-Bucket {Name("tac")} -S3Endpoint '{TestEnv.S3Url}' -S3Credential ([pscredential]::new('test', [System.Net.NetworkCredential]::new('', 'test').SecurePassword)) " +
               $"-PostgresConnectionString 'Host={host};Port={port};Username={user};Database={database}'";
    }

    private static string Kafka => $"-BootstrapServer {TestEnv.KafkaBootstrap} -NoAuthentication";

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void TestMessagesArchiveVerifyStatusAndPurge(string backend)
    {
        var dir = TestEnv.NewTempDir();
        var b = Backend(backend, dir, out _);
        var topic = Name("tac.housekeeping-test");
        using var s = new PsSession();

        var sent = s.Run($"Send-TopicArchiveTestMessage {topic} {Kafka}");
        sent.AssertNoErrors();
        Assert.Equal(10, sent.Output.Count);
        Assert.All(sent.Output, o => Assert.Equal("Sent", o.Properties["Status"].Value));

        var run = s.Run($"Start-TopicArchive {topic} {Kafka} -GroupName g -UntilEndOfStream {b}");
        run.AssertNoErrors();
        var summary = Assert.Single(run.Output);
        Assert.Equal("HpcCampaign.TopicArchiveRunSummary", summary.BaseObject.GetType().FullName);
        Assert.Equal(10L, summary.Properties["Archived"].Value);
        Assert.NotEmpty(run.Progress);

        // a second set, compared as sent with as stored while an archiver job runs
        var job = s.Run($"$j = Start-TopicArchive {topic} {Kafka} -GroupName g {b} -AsJob; $j.GetType().Name");
        job.AssertNoErrors();
        var compared = s.Run($"Send-TopicArchiveTestMessage {topic} {Kafka} -Wait -TimeoutSeconds 60 {b}");
        s.Run("Stop-Job $j; Wait-Job $j -Timeout 30 | Out-Null").AssertNoErrors();
        compared.AssertNoErrors();
        Assert.Equal(10, compared.Output.Count);
        Assert.All(compared.Output, o => Assert.Equal("Matched", o.Properties["Status"].Value));
        var large = compared.Output.Single(o => (string)o.Properties["Case"].Value == "large_blob");
        Assert.Equal(750_000, large.Properties["Size"].Value);

        var status = s.Run($"Get-TopicArchiveStatus {b}");
        status.AssertNoErrors();
        Assert.Equal(20L, status.Output.Single(o => (string)o.Properties["Topic"].Value == topic).Properties["Messages"].Value);
        Assert.True((bool)status.Output[^1].Properties["IsTotal"].Value);

        var uuid = (string)large.Properties["Uuid"].Value;
        var rec = s.Run($"Get-TopicArchiveRecord {uuid} -IncludePayload {b}");
        rec.AssertNoErrors();
        var r = Assert.Single(rec.Output);
        Assert.Equal(750_000, ((byte[])r.Properties["Value"].Value).Length);
        Assert.Equal("blob", r.Properties["Format"].Value);
        Assert.Equal(["_id", "_format", "_known_test_data", "payload_size"],
            ((Array)r.Properties["Headers"].Value).Cast<object>().Select(h => ((PSObject)PSObject.AsPSObject(h)).Properties["Name"].Value));
        var byTopic = s.Run($"Get-TopicArchiveRecord -Topic {topic} -First 3 {b}");
        byTopic.AssertNoErrors();
        Assert.Equal(3, byTopic.Output.Count);
        var missing = s.Run($"Get-TopicArchiveRecord {Guid.NewGuid()} {b}");
        Assert.Equal("RecordNotFound,HpcCampaign.Commands.TopicArchive.GetTopicArchiveRecordCommand", Assert.Single(missing.Errors).FullyQualifiedErrorId);

        var check = s.Run($"Test-TopicArchive {topic} -Deep {b}");
        check.AssertNoErrors();
        Assert.Empty(check.Output);

        var whatIf = s.Run($"Remove-TopicArchiveTestMessage {topic} -WhatIf {b}");
        whatIf.AssertNoErrors();
        Assert.Empty(whatIf.Output);
        Assert.Equal(20, s.Run($"Get-TopicArchiveRecord -Topic {topic} {b}").Output.Count);

        var refused = s.Run($"Remove-TopicArchiveTestMessage gcn.notice -Confirm:$false {b}");
        Assert.Equal("NotATestTopic,HpcCampaign.Commands.TopicArchive.RemoveTopicArchiveTestMessageCommand", Assert.Single(refused.Errors).FullyQualifiedErrorId);

        var purge = s.Run($"Remove-TopicArchiveTestMessage {topic} -Confirm:$false {b}");
        purge.AssertNoErrors();
        Assert.Equal(20L, Assert.Single(purge.Output).Properties["RowsRemoved"].Value);
        Assert.Equal(20L, purge.Output[0].Properties["ObjectsRemoved"].Value);
        Assert.Empty(s.Run($"Get-TopicArchiveRecord -Topic {topic} {b}").Output);
    }

    [Fact]
    public void VerifyFindsFaultsAndDuplicateRemovalHonoursWhatIfOnPostgres()
    {
        var dir = TestEnv.NewTempDir();
        var b = Backend("postgres", dir, out var db);
        var topic = Name("tac.faults-test");
        using var s = new PsSession();
        s.Run($"Send-TopicArchiveTestMessage {topic} {Kafka}").AssertNoErrors();
        s.Run($"Start-TopicArchive {topic} {Kafka} -UntilEndOfStream {b}").AssertNoErrors();

        // plant a duplicate (same topic, timestamp, crc; another uuid and key) and a size fault
        Psql(db!, "INSERT INTO messages (topic, timestamp, uuid, size, key, bucket, crc32, is_client_uuid, message_crc32) " +
                  "SELECT topic, timestamp, 'dup-' || uuid, size, key || '.dup', bucket, crc32, false, message_crc32 FROM messages ORDER BY id LIMIT 1");
        Psql(db!, "UPDATE messages SET size = size + 1 WHERE id = (SELECT max(id) - 1 FROM messages)");
        var issues = s.Run($"Test-TopicArchive {topic} {b}");
        issues.AssertNoErrors();
        Assert.Equal(["MissingObject", "SizeMismatch"], issues.Output.Select(o => (string)o.Properties["Kind"].Value).OrderBy(k => k));

        var whatIf = s.Run($"Remove-TopicArchiveDuplicate -WhatIf {b}");
        whatIf.AssertNoErrors();
        Assert.Empty(whatIf.Output);
        Assert.Equal("11", Psql(db!, "SELECT count(*) FROM messages"));

        var removed = s.Run($"Remove-TopicArchiveDuplicate -PassThru -Confirm:$false {b}");
        removed.AssertNoErrors();
        Assert.StartsWith("dup-", (string)Assert.Single(removed.Output).Properties["Uuid"].Value);
        Assert.Equal("10", Psql(db!, "SELECT count(*) FROM messages"));
        Assert.Equal("0", Psql(db!, "SELECT count(*) FROM messages WHERE uuid LIKE 'dup-%'"));
    }

    [Fact]
    public void RestoreWritesTheArchivedMessagesToANewTopic()
    {
        var dir = TestEnv.NewTempDir();
        var b = Backend("sqlite", dir, out _);
        var topic = Name("tac.restore-test");
        var target = Name("tac.restored-test");
        using var s = new PsSession();
        s.Run($"Send-TopicArchiveTestMessage {topic} {Kafka}").AssertNoErrors();
        s.Run($"Start-TopicArchive {topic} {Kafka} -UntilEndOfStream {b}").AssertNoErrors();
        var whatIf = s.Run($"Restore-TopicArchive {topic} {target} {Kafka} -WhatIf {b}");
        whatIf.AssertNoErrors();
        Assert.Empty(whatIf.Output);
        var restored = s.Run($"Restore-TopicArchive {topic} {target} {Kafka} {b}");
        restored.AssertNoErrors();
        Assert.Equal(10L, Assert.Single(restored.Output).Properties["Messages"].Value);
        // archive the restored topic: the messages keep their _id, so they are exactly the same records
        var again = s.Run($"Start-TopicArchive {target} {Kafka} -UntilEndOfStream {b}");
        again.AssertNoErrors();
        Assert.Equal(10L, again.Output[0].Properties["Received"].Value);
        Assert.Equal(10L, again.Output[0].Properties["Duplicates"].Value);
    }

    [Fact]
    public void BadParametersGiveClearErrors()
    {
        var dir = TestEnv.NewTempDir();
        using var s = new PsSession();
        var noAuth = s.Run($"Start-TopicArchive t -BootstrapServer 127.0.0.1:1 -HopAuthPath '{dir}/none.toml' -StorePath '{dir}/s'");
        Assert.Equal("HopAuthNotFound,HpcCampaign.Commands.TopicArchive.StartTopicArchiveCommand", Assert.Single(noAuth.Errors).FullyQualifiedErrorId);
        var auth = Path.Combine(dir, "auth.toml");
        File.WriteAllText(auth, "[[auth]]\nusername = \"u\"\npassword = \"p\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(auth, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var insecure = s.Run($"Start-TopicArchive t -BootstrapServer 127.0.0.1:1 -HopAuthPath '{auth}' -StorePath '{dir}/s'");
        Assert.Equal("HopAuthInsecure,HpcCampaign.Commands.TopicArchive.StartTopicArchiveCommand", Assert.Single(insecure.Errors).FullyQualifiedErrorId);
        var both = s.Run($"Get-TopicArchiveStatus -StorePath '{dir}/s' -Bucket b");
        Assert.Equal("ConflictingStore,HpcCampaign.Commands.TopicArchive.GetTopicArchiveStatusCommand", Assert.Single(both.Errors).FullyQualifiedErrorId);
        var pgDown = s.Run("Get-TopicArchiveStatus -PostgresConnectionString 'Host=127.0.0.1;Port=1;Username=x;Database=y;Timeout=3'");
        Assert.Contains("IndexUnavailable", pgDown.ErrorIds);
        var notTest = s.Run($"Send-TopicArchiveTestMessage gcn.notice {Kafka}");
        Assert.Equal("NotATestTopic,HpcCampaign.Commands.TopicArchive.SendTopicArchiveTestMessageCommand", Assert.Single(notTest.Errors).FullyQualifiedErrorId);
        var whatIf = s.Run($"Start-TopicArchive t {Kafka} -StorePath '{dir}/w' -WhatIf");
        whatIf.AssertNoErrors();
        Assert.False(Directory.Exists(Path.Combine(dir, "w")));
    }
}
