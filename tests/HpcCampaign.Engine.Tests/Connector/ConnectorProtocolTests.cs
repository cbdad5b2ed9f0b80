using HpcCampaign.Engine.Transfer;
using System.Security.Cryptography;
using System.Text;
using HpcCampaign.Engine.Connector;

namespace HpcCampaign.Tests.Connector;

public class ConnectorProtocolTests
{
    private static ConnectorRequest? Parse(string s) => ConnectorProtocol.Parse(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void ParsesTheFourCommandsLikeTheOriginal()
    {
        var r = Parse("/run_service?group=OLCF&service=adios&local_port=28100")!;
        Assert.Equal("run_service", r.Command);
        Assert.Equal("OLCF", r.Get("group"));
        Assert.Equal("28100", r.Get("local_port"));
        Assert.Equal("get_key", Parse("/get_key?id=abc")!.Command);
        Assert.Equal("connect_port", Parse("/connect_port?rhost=a&dhost=b&dport=1")!.Command);
        Assert.Equal("reverse", Parse("/reverse?group=a")!.Command);
    }

    [Fact]
    public void WhitespaceAndNulAreRemovedAndTheFirstValueWins()
    {
        var r = Parse(" /get_key ?\tid = abc%20d\n&id=second\0\0")!;
        Assert.Equal("abc d", r.Get("id"));
        var blank = Parse("/run_service?group=&service=s")!;
        Assert.Null(blank.Get("group"));
        Assert.Equal("s", blank.Get("service"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello")]
    [InlineData("/run_service")]
    [InlineData("/run_service?")]
    [InlineData("/unknown?x=1")]
    [InlineData("run_service?group=a")]
    [InlineData("GET /get_key?id=1 HTTP/1.1")]
    public void AnythingElseIsNotARequest(string text) => Assert.Null(Parse(text));

    [Fact]
    public void InvalidUtf8IsNotARequest() => Assert.Null(ConnectorProtocol.Parse(new byte[] { 0x2f, 0xff, 0xfe, 0x3f, 0x61 }));

    [Fact]
    public void RepliesHaveTheCommaAndNoNoneCookie()
    {
        Assert.Equal("port:28000,msg:no_error", ConnectorProtocol.PortReply(28000));
        Assert.Equal("port:28000,msg:no_error", ConnectorProtocol.PortReply(28000, null));
        Assert.Equal("port:28000,cookie:0x1f,msg:no_error", ConnectorProtocol.PortReply(28000, "0x1f"));
        Assert.Equal("port:-1,msg:incorrect_request_format", ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat));
        Assert.Equal("port:5,msg:requested_port_is_not_available", ConnectorProtocol.PortError(5, "requested_port_is_not_available"));
        var key = RandomNumberGenerator.GetBytes(32);
        var reply = ConnectorProtocol.KeyReply(key);
        Assert.Equal($"key:{Convert.ToHexString(key).ToLowerInvariant()},msg:no_error", reply);
        // ADIOS splits on ',' then ':': every pair has exactly one colon and a known key
        foreach (var pair in ConnectorProtocol.PortReply(1, "0xabc").Split(','))
            Assert.Contains(pair.Split(':')[0], new[] { "port", "cookie", "msg" });
    }

    [Theory]
    [InlineData("port:40123;msg:no_error;cookie:0xabc", 40123, "no_error", "0xabc")]
    [InlineData("msg:no_error;port:1", 1, "no_error", null)]
    [InlineData("port:2;msg:no_error;cookie:None", 2, "no_error", null)]
    [InlineData(" port:3 ; msg:busy \r", 3, "busy", null)]
    public void ServiceLinesParse(string line, int port, string msg, string? cookie)
    {
        Assert.True(ConnectorProtocol.TryParseServiceLine(line, out var p, out var m, out var c));
        Assert.Equal(port, p);
        Assert.Equal(msg, m);
        Assert.Equal(cookie, c);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("server started")]
    [InlineData("port:12")]
    [InlineData("msg:no_error")]
    [InlineData("port:x;msg:no_error")]
    public void OtherServiceLinesDoNot(string? line) => Assert.False(ConnectorProtocol.TryParseServiceLine(line, out _, out _, out _));
}

public class KnownHostsTests
{
    private static readonly byte[] KeyA = Blob("ssh-ed25519", 1);
    private static readonly byte[] KeyB = Blob("ssh-ed25519", 2);

    private static byte[] Blob(string type, byte fill)
    {
        var t = Encoding.ASCII.GetBytes(type);
        var ms = new MemoryStream();
        ms.Write(new byte[] { 0, 0, 0, (byte)t.Length });
        ms.Write(t);
        ms.Write(new byte[] { 0, 0, 0, 32 });
        ms.Write(Enumerable.Repeat(fill, 32).ToArray());
        return ms.ToArray();
    }

    private static KnownHosts With(params string[] lines)
    {
        var path = Path.Combine(TestEnv.NewTempDir(), "known_hosts");
        File.WriteAllLines(path, lines);
        return new KnownHosts(new[] { path, Path.Combine(TestEnv.NewTempDir(), "missing") });
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b);

    [Fact]
    public void PlainPortAndWildcardEntries()
    {
        var kh = With("# comment", "", $"host.example,10.0.0.1 ssh-ed25519 {B64(KeyA)} c", $"[127.0.0.1]:2222 ssh-ed25519 {B64(KeyB)}",
            $"*.site.org,!bad.site.org ssh-ed25519 {B64(KeyA)}");
        Assert.Single(kh.Files);
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("host.example", 22, KeyA));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("10.0.0.1", 22, KeyA));
        Assert.Equal(HostKeyVerdict.Mismatch, kh.Verify("host.example", 22, KeyB));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("127.0.0.1", 2222, KeyB));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("127.0.0.1", 22, KeyB));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("host.example", 2222, KeyA));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("login.SITE.org", 22, KeyA));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("bad.site.org", 22, KeyA));
        Assert.Equal(new[] { "ssh-ed25519" }, kh.KeyTypesFor("127.0.0.1", 2222));
    }

    [Fact]
    public void HashedEntriesAndRevokedKeys()
    {
        var salt = RandomNumberGenerator.GetBytes(20);
        var hash = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes("[dtn.example]:2200"));
        var kh = With($"|1|{B64(salt)}|{B64(hash)} ssh-ed25519 {B64(KeyA)}", $"@revoked * ssh-ed25519 {B64(KeyB)}");
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("dtn.example", 2200, KeyA));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("dtn.example", 22, KeyA));
        Assert.Equal(HostKeyVerdict.Revoked, kh.Verify("dtn.example", 2200, KeyB));
    }
}
