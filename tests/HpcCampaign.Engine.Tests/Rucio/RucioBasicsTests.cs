using System.Security.Cryptography;
using HpcCampaign.Engine.Rucio;

namespace HpcCampaign.Tests.Rucio;

public class RucioBasicsTests
{
    [Theory]
    [InlineData("", "00000001")]
    [InlineData("hello world", "1a0b045d")]
    [InlineData("Wikipedia", "11e60398")]
    public void Adler32MatchesZlib(string text, string expected) =>
        Assert.Equal(expected, Adler32.Of(System.Text.Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void Adler32StreamedInOddPiecesEqualsTheReferenceOnLargeData()
    {
        var data = new byte[3_000_017];
        new Random(5).NextBytes(data);
        for (var i = 0; i < 100_000; i++) data[i] = 0xff; // worst case for the deferred modulo
        var adler = new Adler32();
        for (var pos = 0; pos < data.Length;)
        {
            var n = Math.Min(data.Length - pos, 1 + pos % 70_001);
            adler.Append(data.AsSpan(pos, n));
            pos += n;
        }
        Assert.Equal(WebDavStorageStandIn.Adler32Hex(data), adler.Hex);
    }

    [Fact]
    public async Task FileChecksumsGiveSizeAdler32AndMd5InOneRead()
    {
        var dir = TestEnv.NewTempDir();
        var data = new byte[5 * FileChecksums.BlockSize + 123];
        new Random(1).NextBytes(data);
        var path = Path.Combine(dir, "x.bin");
        File.WriteAllBytes(path, data);
        var sums = await FileChecksums.ComputeAsync(path, CancellationToken.None);
        Assert.Equal(data.Length, sums.Bytes);
        Assert.Equal(WebDavStorageStandIn.Adler32Hex(data), sums.Adler32);
        Assert.Equal(Convert.ToHexString(MD5.HashData(data)).ToLowerInvariant(), sums.Md5);
    }

    [Fact]
    public async Task HashingStreamHashesEachByteOnceEvenWhenTheReaderRewinds()
    {
        var dir = TestEnv.NewTempDir();
        var data = new byte[700_001];
        new Random(2).NextBytes(data);
        var path = Path.Combine(dir, "x.bin");
        File.WriteAllBytes(path, data);
        await using var file = HashingReadStream.OpenFile(path);
        var view = new HashingReadStream(file);
        var buffer = new byte[65_536];
        Assert.Equal(65_536, await view.ReadAsync(buffer));
        Assert.Null(view.Result()); // not the whole file yet
        view.Position = 0;          // an SDK retry starts again
        while (await view.ReadAsync(buffer.AsMemory(0, 10_000)) > 0) { }
        view.Dispose();             // HttpContent disposes its stream: the result must survive
        var sums = view.Result();
        Assert.NotNull(sums);
        Assert.Equal(data.Length, sums!.Bytes);
        Assert.Equal(WebDavStorageStandIn.Adler32Hex(data), sums.Adler32);
        Assert.Equal(Convert.ToHexString(MD5.HashData(data)).ToLowerInvariant(), sums.Md5);
        var plain = new HashingReadStream(file, hashing: false);
        plain.Position = 0;
        while (plain.Read(buffer, 0, buffer.Length) > 0) { }
        Assert.Null(plain.Result());
    }

    [Fact]
    public void Adler32ComparisonIgnoresLeadingZerosLikeRucio()
    {
        Assert.True(Adler32.Same("0a0b045d", "a0b045d"));
        Assert.False(Adler32.Same("1a0b045d", "1a0b045e"));
        Assert.False(Adler32.Same(null, "1"));
    }

    [Fact]
    public void DeterministicPathsFollowRucioHashAndIdentity()
    {
        Assert.Equal("user/jdoe/f2/fc/file1.dat", Lfn2Pfn.Hash("user.jdoe", "file1.dat"));
        var h = Convert.ToHexString(MD5.HashData("lsst:calexp.fits"u8.ToArray())).ToLowerInvariant();
        Assert.Equal($"lsst/{h[..2]}/{h[2..4]}/calexp.fits", Lfn2Pfn.Path("hash", "lsst", "calexp.fits"));
        Assert.Equal("group/phys/a.root", Lfn2Pfn.Identity("group.phys", "a.root"));
        Assert.Equal("data.run1/a", Lfn2Pfn.Identity("data.run1", "a"));
        var ex = Assert.Throws<HpcException>(() => Lfn2Pfn.Path("atlas-custom", "s", "n"));
        Assert.Equal("UnknownLfn2PfnAlgorithm", ex.ErrorId);
    }

    [Fact]
    public void PfnJoinsSchemeHostPortPrefixAndPath()
    {
        var p = new RseProtocol("davs", "webdav.example.org", 2880, "pnfs/lsst/rucio", "rucio.rse.protocols.gfal.Default", 1, 1, null);
        Assert.Equal("davs://webdav.example.org:2880/pnfs/lsst/rucio/user/jdoe/f2/fc/file1.dat", p.Pfn("user/jdoe/f2/fc/file1.dat"));
        var noPort = p with { Port = 0, Prefix = "/" };
        Assert.Equal("davs://webdav.example.org/x", noPort.Pfn("x"));
    }

    [Fact]
    public void ConfigReadsTheShippedDacFileAndFindsItLikeRucio()
    {
        var dir = TestEnv.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "etc"));
        var cfg = Path.Combine(dir, "etc", "rucio.cfg");
        File.WriteAllText(cfg, """
            [common]
            logdir = /var/log/rucio
            multi_vo = True
            [client]
            rucio_host = https://multi-vo-rucio-server.nubes.stfc.ac.uk:443
            auth_host = https://multi-vo-rucio-auth.nubes.stfc.ac.uk:443
            auth_type = x509_proxy
            client_cert = /opt/rucio/etc/usercert.pem
            client_key = opt/rucio/etc/userkey.pem
            account = USERNAME
            ca_cert = /opt/rucio/etc/web/ca-first.pem
            vo = dtm
            request_retries = 5
            [policy]
            lfn2pfn_algorithm_default = hash
            """);
        var c = RucioConfig.Load(cfg);
        Assert.Equal("https://multi-vo-rucio-server.nubes.stfc.ac.uk:443", c.RucioHost);
        Assert.Equal("x509_proxy", c.AuthType);
        Assert.Equal("dtm", c.Vo);
        Assert.Equal(5, c.RequestRetries);
        Assert.Equal(6, c.StatRetries);
        var old = Environment.GetEnvironmentVariable("RUCIO_HOME");
        try
        {
            Environment.SetEnvironmentVariable("RUCIO_HOME", dir);
            Assert.Equal(cfg, RucioConfig.FindDefault());
        }
        finally
        {
            Environment.SetEnvironmentVariable("RUCIO_HOME", old);
        }
        var bad = Assert.Throws<HpcException>(() => RucioConfig.Parse("rucio_host = x"));
        Assert.Equal("InvalidRucioConfig", bad.ErrorId);
        Assert.Equal("RucioConfigNotFound", Assert.Throws<HpcException>(() => RucioConfig.Load(Path.Combine(dir, "none.cfg"))).ErrorId);
    }

    [Fact]
    public void GlobWithDoubleStarSpansDirectoriesAndReturnsFilesOnly()
    {
        var dir = TestEnv.NewTempDir();
        foreach (var f in new[] { "a.fits", "x/b.fits", "x/y/c.fits", "x/y/d.txt", "z.fits/e.fits" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, f))!);
            File.WriteAllText(Path.Combine(dir, f), f);
        }
        var all = RucioGlob.Expand(Path.Combine(dir, "**", "*.fits")).Select(p => Path.GetRelativePath(dir, p)).ToList();
        Assert.Equal(new[] { "a.fits", "x/b.fits", "x/y/c.fits", "z.fits/e.fits" }.OrderBy(x => x, StringComparer.Ordinal), all.OrderBy(x => x, StringComparer.Ordinal));
        var under = RucioGlob.Expand(Path.Combine(dir, "x", "**")).Select(p => Path.GetRelativePath(dir, p)).OrderBy(x => x, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "x/b.fits", "x/y/c.fits", "x/y/d.txt" }, under);
        Assert.Equal(new[] { "x/y/c.fits" }, RucioGlob.Expand(Path.Combine(dir, "x", "*", "?.fits")).Select(p => Path.GetRelativePath(dir, p)));
        Assert.Empty(RucioGlob.Expand(Path.Combine(dir, "nothing", "**", "*.fits")));
    }

    [Fact]
    public void BatchesKeepCatalogueOrderAndAShortLastBatch()
    {
        var b = RucioUploader.Batches(Enumerable.Range(1, 10).ToList(), 4);
        Assert.Equal(new[] { 4, 4, 2 }, b.Select(x => x.Count));
        Assert.Equal(Enumerable.Range(1, 10), b.SelectMany(x => x));
    }
}
