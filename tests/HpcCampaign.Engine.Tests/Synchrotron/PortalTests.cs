using HpcCampaign.Engine.Synchrotron;

namespace HpcCampaign.Tests.Synchrotron;

/// <summary>The portal is external: these run against PortalStandIn (tests/Shared), which follows the documented API.</summary>
public class PortalTests
{
    private static readonly PortalStandIn.Person Ada = new("Ada", "Lovelace", "ada@example.org");
    private static readonly PortalStandIn.Person Alan = new("Alan", "Turing", "alan@example.org");

    private static (SynchrotronWorld World, SynchrotronConfig Config) Setup(PortalStandIn portal, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        var world = new SynchrotronWorld(TestEnv.NewTempDir(name.Length > 36 ? name[..36] : name));
        world.WriteConfig(portal.BaseUrl);
        return (world, SynchrotronConfig.Load(world.ConfigPath));
    }

    [Fact]
    public async Task FindsFinishedVisitsWithProjectDestinationAndSyncedFlag()
    {
        using var portal = new PortalStandIn();
        var now = DateTimeOffset.Now;
        portal.AddVisit(23, new("12282a", now.AddDays(-6), now.AddDays(-5), Ada, new[] { Alan }));
        portal.AddVisit(24, new("12290b", now.AddDays(-3), now.AddDays(-2), Alan, Array.Empty<PortalStandIn.Person>()));
        portal.AddVisit(24, new("99999a", now.AddDays(-4), now.AddDays(-4).AddHours(8), Ada, Array.Empty<PortalStandIn.Person>()));
        portal.AddVisit(23, new("12282c", now.AddHours(-1), now.AddHours(7), Ada, Array.Empty<PortalStandIn.Person>()));
        portal.AddVisit(23, new("12282z", now.AddDays(-90), now.AddDays(-89), Ada, Array.Empty<PortalStandIn.Person>()));
        var (world, config) = Setup(portal);
        File.WriteAllText(world.IgnorePath, "previouslySynched:\n- 12290b\n");

        var sink = new CollectingSink();
        using var http = new HttpClient();
        var found = await new EpnFinder(config, http).FindAsync(sink, includeCurrent: false, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.Equal(new[] { "12282a", "12290b", "99999a" }, found.Select(e => e.Epn).OrderBy(e => e));
        var a = found.Single(e => e.Epn == "12282a");
        Assert.Equal(23, a.Equipment);
        Assert.Equal("ny79", a.Project);
        Assert.Equal(world.Destination("ny79", "12282a"), a.Destination);
        Assert.True(a.Finished);
        Assert.False(a.Synced);
        Assert.Equal("Ada Lovelace <ada@example.org>", a.PrincipalScientist);
        Assert.Equal(new[] { "Alan Turing <alan@example.org>" }, a.DataScientists);
        Assert.True(found.Single(e => e.Epn == "12290b").Synced);
        var unmapped = found.Single(e => e.Epn == "99999a");
        Assert.Null(unmapped.Project);
        Assert.Null(unmapped.Destination);
        Assert.Equal(2, portal.TokenRequests);
        Assert.All(portal.VisitQueries, q => Assert.Matches(@"access_token=tok-\d+-[0-9a-f]+&start_time=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d&end_time=", q));

        var withCurrent = await new EpnFinder(config, http).FindAsync(sink, includeCurrent: true, CancellationToken.None);
        Assert.False(withCurrent.Single(e => e.Epn == "12282c").Finished);
    }

    [Fact]
    public async Task RefreshesTheTokenOnceOn401()
    {
        using var portal = new PortalStandIn();
        var now = DateTimeOffset.Now;
        portal.AddVisit(23, new("12282a", now.AddDays(-6), now.AddDays(-5), Ada, Array.Empty<PortalStandIn.Person>()));
        var (_, config) = Setup(portal);
        portal.ExpireTokensForNextRequests = 1;
        var sink = new CollectingSink();
        using var http = new HttpClient();
        var found = await new EpnFinder(config, http).FindAsync(sink, false, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.Equal("12282a", Assert.Single(found).Epn);
        Assert.Equal(3, portal.TokenRequests);   // one login per equipment + one refresh

        portal.ExpireTokensForNextRequests = 100;  // the fresh token is rejected too: one refresh only, then an error
        var sink2 = new CollectingSink();
        var none = await new EpnFinder(config, http).FindAsync(sink2, false, CancellationToken.None);
        Assert.Empty(none);
        Assert.Equal(2, sink2.Errors.Count);
        Assert.All(sink2.Errors, e => Assert.Equal("PortalAuthenticationFailed", e.ErrorId));
    }

    [Fact]
    public async Task BadCredentialsServerErrorsAndUnreachablePortalAreClearErrors()
    {
        using var portal = new PortalStandIn();
        var (world, config) = Setup(portal);
        using var http = new HttpClient();

        var badUser = new CollectingSink();
        Assert.Empty(await new EpnFinder(config, http) { UserOverride = ("beamline-user", "wrong") }.FindAsync(badUser, false, CancellationToken.None));
        Assert.Equal(2, badUser.Errors.Count);
        Assert.All(badUser.Errors, e => Assert.Equal(HpcErrorKind.AuthenticationError, e.Kind));
        Assert.Contains("user credentials were incorrect", badUser.Errors[0].Message);
        Assert.DoesNotContain("wrong", badUser.Errors[0].Message);

        var badClient = new CollectingSink();
        await new EpnFinder(config, http) { ClientOverride = ("hpcc-client", "nope") }.FindAsync(badClient, false, CancellationToken.None);
        Assert.All(badClient.Errors, e => Assert.Equal("PortalAuthenticationFailed", e.ErrorId));

        portal.FailVisits = true;
        var failing = new CollectingSink();
        Assert.Empty(await new EpnFinder(config, http).FindAsync(failing, false, CancellationToken.None));
        Assert.Equal(2, failing.Errors.Count);
        Assert.All(failing.Errors, e => Assert.Equal("PortalRequestFailed", e.ErrorId));
        Assert.Contains("HTTP 500", failing.Errors[0].Message);

        world.WriteConfig("http://127.0.0.1:9");
        var down = new CollectingSink();
        await new EpnFinder(SynchrotronConfig.Load(world.ConfigPath), http).FindAsync(down, false, CancellationToken.None);
        Assert.All(down.Errors, e => Assert.Equal("PortalUnreachable", e.ErrorId));
        Assert.Equal(2, down.Errors.Count);
    }
}
