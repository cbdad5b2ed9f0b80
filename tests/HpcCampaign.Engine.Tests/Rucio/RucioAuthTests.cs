using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using HpcCampaign.Engine.Rucio;

namespace HpcCampaign.Tests.Rucio;

/// <summary>x509 and cached-token authentication against stand-ins of the Rucio auth server.</summary>
public class RucioAuthTests
{
    private static string Pem(string label, byte[] der) =>
        $"-----BEGIN {label}-----\n{Convert.ToBase64String(der, Base64FormattingOptions.InsertLineBreaks)}\n-----END {label}-----\n";

    private static X509Certificate2 SelfSigned(string subject, bool ca, out RSA key, X509Certificate2? issuer = null, RSA? issuerKey = null)
    {
        key = RSA.Create(2048);
        var req = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, false, 0, true));
        if (!ca)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
        }
        var from = DateTimeOffset.UtcNow.AddMinutes(-5);
        return issuer is null
            ? req.CreateSelfSigned(from, from.AddDays(1))
            : req.Create(issuer.SubjectName, X509SignatureGenerator.CreateForRSA(issuerKey!, RSASignaturePadding.Pkcs1), from, from.AddDays(1), RandomNumberGenerator.GetBytes(8)).CopyWithPrivateKey(key);
    }

    /// <summary>
    /// STAND-IN for Rucio's x509 auth endpoint: TLS with a server certificate from a test CA, client certificate
    /// required; GET /auth/x509 answers X-Rucio-Auth-Token when the client certificate is the expected one.
    /// </summary>
    private sealed class X509AuthStandIn : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _serverCert;
        private readonly string _expectedClient;
        public string? Token { get; private set; }
        public string? SeenPath { get; private set; }
        public int Port { get; }

        public X509AuthStandIn(X509Certificate2 serverCert, string expectedClientThumbprint, RucioServerStandIn api)
        {
            _serverCert = serverCert;
            _expectedClient = expectedClientThumbprint;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    TcpClient c;
                    try { c = await _listener.AcceptTcpClientAsync(); } catch (Exception) { return; }
                    _ = Task.Run(() => Serve(c, api));
                }
            });
        }

        private async Task Serve(TcpClient client, RucioServerStandIn api)
        {
            using var _ = client;
            using var ssl = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
            try
            {
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _serverCert, ClientCertificateRequired = true });
                var reader = new StreamReader(ssl, Encoding.ASCII);
                var first = await reader.ReadLineAsync() ?? "";
                while (!string.IsNullOrEmpty(await reader.ReadLineAsync())) { }
                SeenPath = first.Split(' ')[1];
                var ok = ssl.RemoteCertificate is { } rc && new X509Certificate2(rc).Thumbprint == _expectedClient && SeenPath == "/auth/x509";
                string head;
                if (ok)
                {
                    Token = api.IssueToken();
                    head = $"HTTP/1.1 200 OK\r\nX-Rucio-Auth-Token: {Token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                }
                else head = "HTTP/1.1 401 Unauthorized\r\nExceptionClass: CannotAuthenticate\r\nExceptionMessage: bad certificate\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                await ssl.WriteAsync(Encoding.ASCII.GetBytes(head));
                await ssl.FlushAsync();
            }
            catch (Exception) { }
        }

        public void Dispose() => _listener.Stop();
    }

    [Fact]
    public async Task X509AuthPresentsTheClientCertificateAndTrustsTheConfiguredCa()
    {
        var dir = TestEnv.NewTempDir();
        using var ca = SelfSigned("CN=Test Rucio CA", true, out var caKey);
        using var server = SelfSigned("CN=127.0.0.1", false, out _, ca, caKey);
        using var user = SelfSigned("CN=alice", false, out var userKey, ca, caKey);
        File.WriteAllText(Path.Combine(dir, "ca.pem"), Pem("CERTIFICATE", ca.RawData));
        File.WriteAllText(Path.Combine(dir, "usercert.pem"), Pem("CERTIFICATE", user.RawData));
        File.WriteAllText(Path.Combine(dir, "userkey.pem"), Pem("PRIVATE KEY", userKey.ExportPkcs8PrivateKey()));
        using var api = new RucioServerStandIn();
        using var auth = new X509AuthStandIn(server, user.Thumbprint, api);
        var storage = TestEnv.NewTempDir();
        api.AddRse("POSIX", new JsonArray(RucioServerStandIn.Protocol("file", "localhost", 0, storage, "rucio.rse.protocols.posix.Default")));
        var cfg = RucioConfig.Parse($"""
            [client]
            rucio_host = {api.Url}
            auth_host = https://127.0.0.1:{auth.Port}
            auth_type = x509
            client_cert = {dir}/usercert.pem
            client_key = {dir}/userkey.pem
            ca_cert = {dir}/ca.pem
            account = survey
            auth_token_file_path = {dir}/token
            """);
        File.WriteAllText(Path.Combine(dir, "a.fits"), "x509 upload");
        var sink = new CollectingSink();
        var records = await new RucioUploader(cfg, new RucioUploadOptions { Scope = "user.alice", Rse = "POSIX" }, sink)
            .RunAsync(new[] { new RucioUploadItem(Path.Combine(dir, "a.fits"), "a.fits") }, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.Equal(RucioUploadState.Uploaded, Assert.Single(records).State);
        Assert.Equal("/auth/x509", auth.SeenPath);
        Assert.Equal(auth.Token, File.ReadAllText(Path.Combine(dir, "token")));
        Assert.Equal(0, api.CountCalls("GET", "/auth/userpass"));

        // without the CA the server's certificate is not trusted: a clear connection error, nothing uploaded
        var untrusted = RucioConfig.Parse($"""
            [client]
            rucio_host = {api.Url}
            auth_host = https://127.0.0.1:{auth.Port}
            auth_type = x509
            client_cert = {dir}/usercert.pem
            client_key = {dir}/userkey.pem
            auth_token_file_path = {dir}/other-token
            request_retries = 1
            """);
        var ex = await Assert.ThrowsAsync<HpcException>(() => new RucioUploader(untrusted, new RucioUploadOptions { Scope = "user.alice", Rse = "POSIX" }, new CollectingSink())
            .RunAsync(new[] { new RucioUploadItem(Path.Combine(dir, "a.fits"), "a.fits") }, CancellationToken.None));
        Assert.Equal("RucioServerUnreachable", ex.ErrorId);

        var missing = RucioConfig.Parse($"[client]\nrucio_host = {api.Url}\nauth_type = x509\nclient_cert = {dir}/none.pem\n");
        Assert.Equal("RucioCertificateNotFound", Assert.Throws<HpcException>(() => new RucioRestClient(missing)).ErrorId);
    }

    [Fact]
    public async Task ACachedTokenIsUsedWithoutLoggingInAgain()
    {
        using var kit = new RucioTestKit(nameof(ACachedTokenIsUsedWithoutLoggingInAgain));
        File.WriteAllText(Path.Combine(kit.Dir, "token"), kit.Server.IssueToken());
        kit.WriteConfig("no-longer-the-password");
        var root = TestEnv.NewTempDir();
        kit.Server.AddRse("POSIX", new JsonArray(RucioServerStandIn.Protocol("file", "localhost", 0, root, "rucio.rse.protocols.posix.Default")));
        var items = kit.MakeFiles(2);
        var records = await new RucioUploader(kit.Config, kit.Options("POSIX"), new CollectingSink()).RunAsync(items, CancellationToken.None);
        Assert.All(records, r => Assert.Equal(RucioUploadState.Uploaded, r.State));
        Assert.Equal(0, kit.Server.CountCalls("GET", "/auth/userpass"));
        // once the token expires, the (now wrong) password is tried and refused: a clear error, not a loop
        kit.Server.ExpireTokens();
        var ex = await Assert.ThrowsAsync<HpcException>(() => new RucioUploader(kit.Config, kit.Options("POSIX"), new CollectingSink()).RunAsync(items, CancellationToken.None));
        Assert.Equal("RucioAuthenticationFailed", ex.ErrorId);
        Assert.Equal(1, kit.Server.CountCalls("GET", "/auth/userpass"));
    }
}
