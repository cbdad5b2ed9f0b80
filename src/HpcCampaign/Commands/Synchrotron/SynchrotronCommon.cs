using System.Management.Automation;
using HpcCampaign.Engine.Synchrotron;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Synchrotron;

/// <summary>Shared steps of the synchrotron cmdlets: config resolution and loading, portal credentials, -WhatIf.</summary>
internal static class SynchrotronCommon
{
    /// <summary>Resolves -ConfigPath through PowerShell (default synchrotron.yml in the config folder) and loads it; terminating on failure.</summary>
    public static SynchrotronConfig LoadConfig(HpcCmdletAccess cmdlet, string? configPath)
    {
        var path = configPath is null ? SynchrotronConfig.DefaultPath : cmdlet.Resolve(configPath);
        if (path is null)
            cmdlet.Terminate(new HpcException("InvalidPath", HpcErrorKind.InvalidArgument, $"'{configPath}' is not a file-system path.", configPath));
        try
        {
            return SynchrotronConfig.Load(path!);
        }
        catch (HpcException ex)
        {
            cmdlet.Terminate(ex);
            throw;
        }
    }

    public static EpnFinder Finder(SynchrotronConfig config, HttpClient http, PSCredential? user, PSCredential? client) => new(config, http)
    {
        UserOverride = user is null ? null : (user.UserName, user.GetNetworkCredential().Password),
        ClientOverride = client is null ? null : (client.UserName, client.GetNetworkCredential().Password),
    };

    /// <summary>True when -WhatIf is in effect (the parameter or $WhatIfPreference).</summary>
    public static bool WhatIfActive(PSCmdlet cmdlet)
    {
        if (cmdlet.MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w))
            return w is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(w);
        return LanguagePrimitives.IsTrue(cmdlet.SessionState.PSVariable.GetValue("WhatIfPreference"));
    }

    public static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(100) };
}

/// <summary>The protected HpcCmdlet members the shared helpers need, without exposing engine types on public cmdlet classes.</summary>
internal sealed class HpcCmdletAccess
{
    private readonly Func<string, string?> _resolve;
    private readonly Action<HpcException> _fail;
    public HpcCmdletAccess(Func<string, string?> resolve, Action<HpcException> fail)
    {
        _resolve = resolve;
        _fail = fail;
    }
    public string? Resolve(string path) => _resolve(path);
    public void Terminate(HpcException ex) => _fail(ex);
}
