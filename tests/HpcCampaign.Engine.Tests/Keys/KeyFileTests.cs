using HpcCampaign.Engine.Crypto;

namespace HpcCampaign.Tests.Keys;

public class KeyFileTests
{
    private static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "Keys", "Data", name);
    private static readonly byte[] VectorKey = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static byte[] Utf8(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    [Fact]
    public void PyNaClProtectedKeyUnlocksToTheKnownKey()
    {
        var key = KeyFile.Load(Data("pynacl-protected.key"));
        Assert.True(key.IsProtected);
        Assert.Equal("0123456789abcdef0123456789abcdef", key.Id);
        Assert.Equal(VectorKey, key.Unlock(Utf8("correct horse")));
    }

    [Fact]
    public void WrongPasswordIsAClearError()
    {
        var key = KeyFile.Load(Data("pynacl-protected.key"));
        var ex = Assert.Throws<HpcException>(() => key.Unlock(Utf8("wrong horse")));
        Assert.Equal("WrongPassword", ex.ErrorId);
        Assert.Equal(HpcErrorKind.AuthenticationError, ex.Kind);
        Assert.Contains("does not unlock", ex.Message);
    }

    [Fact]
    public void ProtectedKeyWithoutPasswordAsksForOne()
    {
        var key = KeyFile.Load(Data("pynacl-protected.key"));
        Assert.Equal("KeyPasswordRequired", Assert.Throws<HpcException>(() => key.Unlock(default)).ErrorId);
    }

    [Fact]
    public void PyNaClSealedBlobOpensAndOurSealOpensWithTheSameKey()
    {
        var blob = Convert.FromHexString(File.ReadAllText(Data("pynacl-blob.hex")).Trim());
        Assert.Equal("hello campaign", System.Text.Encoding.UTF8.GetString(SodiumCrypto.Open(blob, VectorKey)));
        var ours = SodiumCrypto.Seal(Utf8("hello campaign"), VectorKey);
        Assert.Equal(24 + 16 + 14, ours.Length);
        Assert.Equal(Utf8("hello campaign"), SodiumCrypto.Open(ours, VectorKey));
        ours[^1] ^= 1;
        Assert.Equal("WrongKey", Assert.Throws<HpcException>(() => SodiumCrypto.Open(ours, VectorKey)).ErrorId);
    }

    [Fact]
    public void OriginalToolsUnprotectedKeyFileReads()
    {
        var key = KeyFile.Load(Path.Combine(TestEnv.Fixtures, "campaign", "demo.key"));
        Assert.False(key.IsProtected);
        Assert.Equal("9d137a56f6884765942bfd88a47063ab", key.Id);
        Assert.Equal("demo key", key.Note);
        Assert.Equal("4f1b4d9c976a301f6e867f9881e5955cd737000a66ad755003c6ff0f157b89b5", Convert.ToHexString(key.Unlock(default)).ToLowerInvariant());
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 11, 42, 28, TimeSpan.Zero).AddTicks(6176620), key.ToInfo().Created);
    }

    [Fact]
    public void ProtectedKeyWeWriteHasTheOriginalLayoutAndRoundTrips()
    {
        var dir = TestEnv.NewTempDir();
        var path = Path.Combine(dir, "p.key");
        var salt = Enumerable.Range(100, 16).Select(i => (byte)i).ToArray();
        KeyFile.Create(path, "it's mine", VectorKey, "0123456789abcdef0123456789abcdef",
            new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero), Utf8("correct horse"), salt, overwrite: false);
        var lines = File.ReadAllLines(path);
        Assert.Equal(new[] { "note", "id", "key", "salt", "date" }, lines.Select(l => l.Split(':')[0]));
        Assert.Equal("note: 'it''s mine'", lines[0]);
        Assert.Equal("salt: '6465666768696a6b6c6d6e6f70717273'", lines[3]);
        Assert.Equal("date: '2026-11-24T12:00:00.000000+00:00'", lines[4]);
        Assert.Equal(144, lines[2].Length - "key: ''".Length);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var reread = KeyFile.Load(path);
        Assert.Equal("it's mine", reread.Note);
        Assert.Equal(VectorKey, reread.Unlock(Utf8("correct horse")));
    }

    [Fact]
    public void NewKeyRefusesToOverwriteWithoutForce()
    {
        var dir = TestEnv.NewTempDir();
        var path = Path.Combine(dir, "k.key");
        var first = KeyFile.Create(path, "one", default, overwrite: false);
        var ex = Assert.Throws<HpcException>(() => KeyFile.Create(path, "two", default, overwrite: false));
        Assert.Equal("FileExists", ex.ErrorId);
        Assert.Equal(first.Id, KeyFile.Load(path).Id);
        var second = KeyFile.Create(path, "two", default, overwrite: true);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(32, second.Unlock(default).Length);
        Assert.Single(Directory.GetFiles(dir));   // no temp file left behind
    }

    [Theory]
    [InlineData("note: x\n", "the 'id' field is missing")]
    [InlineData("note: x\nid: abc\nkey: zz\n", "not hexadecimal")]
    [InlineData("note: x\nid: abc\nkey: 0011\n", "must be 32 bytes")]
    [InlineData("[not, a, map]", "not a YAML mapping")]
    [InlineData("note: [unclosed\n", "not valid YAML")]
    public void DamagedKeyFilesAreRejectedClearly(string content, string why)
    {
        var path = Path.Combine(TestEnv.NewTempDir(), "bad.key");
        File.WriteAllText(path, content);
        var ex = Assert.Throws<HpcException>(() => KeyFile.Load(path));
        Assert.Equal("InvalidKeyFile", ex.ErrorId);
        Assert.Contains(why, ex.Message);
    }

    [Fact]
    public void MissingKeyFileIsNotFound() =>
        Assert.Equal("KeyFileNotFound", Assert.Throws<HpcException>(() => KeyFile.Load("/nonexistent/x.key")).ErrorId);
}
