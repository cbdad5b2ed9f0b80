using System.Management.Automation.Runspaces;

namespace HpcCampaign.Tests.Campaign;

public sealed class CampaignFormatTests
{
    [Fact]
    public void TheCampaignFormatFileLoadsWithoutErrors()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.Formats.Add(new SessionStateFormatEntry(Path.Combine(TestEnv.RepoRoot, "formats", "HpcCampaign.Campaign.Format.ps1xml")));
        iss.ThrowOnRunspaceOpenError = true;
        using var runspace = RunspaceFactory.CreateRunspace(iss);
        runspace.Open();   // throws with the list of format errors if a view is invalid
    }
}
