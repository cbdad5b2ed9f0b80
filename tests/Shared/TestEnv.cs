using System.Runtime.CompilerServices;

namespace HpcCampaign.Tests;

/// <summary>
/// Where the real test servers are (tests/services writes their addresses as HPCC_TEST_* variables; tests/run.sh
/// exports them). A missing variable fails the test with a clear message: tests are never silently skipped.
/// </summary>
public static class TestEnv
{
    public static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v
            ? v
            : throw new InvalidOperationException(
                $"{name} is not set: start the test servers with tests/run.sh (or `bash tests/services/start-all.sh` and source tests/.work/services/services.env).");

    public static string SshHost => Require("HPCC_TEST_SSH_HOST");
    public static int SshPort => int.Parse(Require("HPCC_TEST_SSH_PORT"));
    public static string SshUser => Require("HPCC_TEST_SSH_USER");
    public static string SshKey => Require("HPCC_TEST_SSH_KEY");
    public static string SshWrongKey => Require("HPCC_TEST_SSH_WRONG_KEY");
    public static string SshKnownHosts => Require("HPCC_TEST_SSH_KNOWN_HOSTS");
    public static string SshKnownHostsMismatch => Require("HPCC_TEST_SSH_KNOWN_HOSTS_MISMATCH");
    public static string SshHome => Require("HPCC_TEST_SSH_HOME");
    /// <summary>ssh options for command-line ssh/rsync/scp against the test sshd (port, key, known_hosts, batch mode).</summary>
    public static string SshOpts => Require("HPCC_TEST_SSH_OPTS");
    public static string AmqpUrl => Require("HPCC_TEST_AMQP_URL");
    public static string RabbitMqCtl => Require("HPCC_TEST_RABBITMQ_CTL");
    public static string PostgresConnectionString => Require("HPCC_TEST_PG");
    public static string S3Url => Require("HPCC_TEST_S3_URL");
    public static string KafkaBootstrap => Require("HPCC_TEST_KAFKA_BOOTSTRAP");
    public static string SmtpHost => Require("HPCC_TEST_SMTP_HOST");
    public static int SmtpPort => int.Parse(Require("HPCC_TEST_SMTP_PORT"));
    public static string SmtpMaildir => Require("HPCC_TEST_SMTP_MAILDIR");

    /// <summary>The repository root (where HpcCampaign.psd1 is).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "HpcCampaign.psd1"))) return d.FullName;
            throw new InvalidOperationException("Cannot find the repository root from " + AppContext.BaseDirectory);
        }
    }

    /// <summary>../shared/fixtures next to the checkout (the original tools' data).</summary>
    public static string Fixtures
    {
        get
        {
            var candidates = new[]
            {
                Environment.GetEnvironmentVariable("HPCC_FIXTURES") ?? "",
                Path.Combine(RepoRoot, "..", "shared", "fixtures"),
                Path.Combine(RepoRoot, "tests", "fixtures"),
            };
            foreach (var c in candidates)
                if (c.Length > 0 && Directory.Exists(c)) return Path.GetFullPath(c);
            throw new InvalidOperationException("Cannot find the shared fixtures folder (../shared/fixtures); set HPCC_FIXTURES.");
        }
    }

    /// <summary>A fresh scratch folder under tests/.work/tmp, named after the calling test.</summary>
    public static string NewTempDir([CallerMemberName] string name = "")
    {
        // cap the name, not the random part: a long test name must not make two folders collide
        var stem = name[..Math.Min(name.Length, 50)];
        var dir = Path.Combine(RepoRoot, "tests", ".work", "tmp", $"{stem}-{Guid.NewGuid():N}"[..(stem.Length + 9)]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
