using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Confluent.Kafka;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Npgsql;
using RabbitMQ.Client;
using Renci.SshNet;

namespace HpcCampaign.Tests.Foundation;

/// <summary>
/// One test per real server started by tests/services: proves it is up and reachable with the client library the
/// module uses. If one of these fails, the feature tests that need that server cannot pass either.
/// </summary>
public class ServerSmokeTests
{
    [Fact]
    public void SshdServesSftpWithKeyLoginAndTheRecordedHostKey()
    {
        var knownKey = File.ReadAllText(TestEnv.SshKnownHosts).Trim().Split(' ')[2];
        using var client = new SftpClient(TestEnv.SshHost, TestEnv.SshPort, TestEnv.SshUser, new PrivateKeyFile(TestEnv.SshKey));
        string? seen = null;
        client.HostKeyReceived += (_, e) =>
        {
            seen = Convert.ToBase64String(e.HostKey);
            e.CanTrust = seen == knownKey;
        };
        client.Connect();
        Assert.Equal(knownKey, seen);
        var payload = new byte[1 << 20];
        Random.Shared.NextBytes(payload);
        var remote = $"smoke-{Guid.NewGuid():N}.bin";
        client.UploadFile(new MemoryStream(payload), remote);
        var back = new MemoryStream();
        client.DownloadFile(remote, back);
        client.DeleteFile(remote);
        Assert.Equal(payload, back.ToArray());
    }

    [Fact]
    public async Task PostgresAcceptsQueries()
    {
        await using var conn = new NpgsqlConnection(TestEnv.PostgresConnectionString);
        await conn.OpenAsync();
        var table = $"smoke_{Guid.NewGuid():N}";
        await using (var cmd = new NpgsqlCommand($"create table {table}(id int primary key, v text); insert into {table} values (1, 'x');", conn))
            await cmd.ExecuteNonQueryAsync();
        await using (var cmd = new NpgsqlCommand($"select v from {table} where id = 1", conn))
            Assert.Equal("x", await cmd.ExecuteScalarAsync());
        await using (var cmd = new NpgsqlCommand($"drop table {table}", conn))
            await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task S3StoresAndReturnsObjects()
    {
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("test", "test"),
            new AmazonS3Config { ServiceURL = TestEnv.S3Url, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var bucket = $"smoke-{Guid.NewGuid():N}"[..30];
        await s3.PutBucketAsync(bucket);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "a/b.txt", ContentBody = "hello s3" });
        using var got = await s3.GetObjectAsync(bucket, "a/b.txt");
        using var reader = new StreamReader(got.ResponseStream);
        Assert.Equal("hello s3", await reader.ReadToEndAsync());
        await s3.DeleteObjectAsync(bucket, "a/b.txt");
        await s3.DeleteBucketAsync(bucket);
    }

    [Fact]
    public void KafkaMockBrokerProducesAndConsumes()
    {
        var topic = $"smoke.{Guid.NewGuid():N}";
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = TestEnv.KafkaBootstrap }).Build())
        {
            producer.Produce(topic, new Message<Null, string> { Value = "hello kafka" });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
        }
        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = TestEnv.KafkaBootstrap,
            GroupId = "smoke-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        ConsumeResult<Ignore, string>? r = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (r?.Message is null && DateTime.UtcNow < deadline) r = consumer.Consume(TimeSpan.FromSeconds(1));
        Assert.Equal("hello kafka", r?.Message?.Value);
        consumer.Close();
    }

    [Fact]
    public async Task SmtpSinkReceivesMail()
    {
        var subject = "smoke " + Guid.NewGuid().ToString("N");
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("from@example.org"));
        message.To.Add(MailboxAddress.Parse("to@example.org"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "hello smtp" };
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(TestEnv.SmtpHost, TestEnv.SmtpPort, SecureSocketOptions.None);
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }
        string? found = null;
        for (var i = 0; i < 50 && found is null; i++)
        {
            found = Directory.EnumerateFiles(Path.Combine(TestEnv.SmtpMaildir, "new"))
                .FirstOrDefault(f => File.ReadAllText(f).Contains(subject));
            if (found is null) await Task.Delay(50);
        }
        Assert.NotNull(found);
        Assert.Contains("hello smtp", File.ReadAllText(found!));
    }
}

/// <summary>The RabbitMQ smoke test lives in the broker's collection: the hot directory's outage test stops and
/// restarts the one shared broker, and no other broker test may run meanwhile.</summary>
[Collection(SharedBroker.Name)]
public class RabbitMqSmokeTests
{
    [Fact]
    public async Task RabbitMqPublishesAndDelivers()
    {
        var factory = new ConnectionFactory { Uri = new Uri(TestEnv.AmqpUrl) };
        await using var conn = await factory.CreateConnectionAsync();
        await using var ch = await conn.CreateChannelAsync();
        var q = await ch.QueueDeclareAsync($"smoke.{Guid.NewGuid():N}", durable: false, exclusive: true, autoDelete: true);
        await ch.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes("hello"));
        BasicGetResult? got = null;
        for (var i = 0; i < 50 && got is null; i++)
        {
            got = await ch.BasicGetAsync(q.QueueName, autoAck: true);
            if (got is null) await Task.Delay(20);
        }
        Assert.NotNull(got);
        Assert.Equal("hello", Encoding.UTF8.GetString(got!.Body.Span));
    }
}
