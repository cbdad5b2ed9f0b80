using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace HpcCampaign.Tests;

/// <summary>
/// A real PowerShell runspace with the built module imported from HpcCampaign.psd1. Only the Core cmdlets exist
/// in this engine (no Select-Object, Get-Content...): test scripts use the language, ForEach-Object/Where-Object
/// and .NET calls.
/// </summary>
public sealed class PsSession : IDisposable
{
    private readonly Runspace _runspace;
    public CapturingHost Host { get; } = new();

    public PsSession(IDictionary<string, string>? env = null)
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(Path.Combine(TestEnv.RepoRoot, "HpcCampaign.psd1"));
        _runspace = RunspaceFactory.CreateRunspace(Host, iss);
        _runspace.Open();
        if (env is not null)
            foreach (var (k, v) in env) Environment.SetEnvironmentVariable(k, v);
        var importErrors = (System.Collections.ArrayList)_runspace.SessionStateProxy.PSVariable.GetValue("Error");
        if (importErrors.Count > 0) throw new InvalidOperationException("Module import failed: " + importErrors[0]);
    }

    public Runspace Runspace => _runspace;

    /// <summary>Runs a script; returns output and every stream.</summary>
    public PsResult Run(string script, IDictionary<string, object?>? variables = null)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        if (variables is not null)
            foreach (var (k, v) in variables) _runspace.SessionStateProxy.SetVariable(k, v);
        ps.AddScript(script);
        Collection<PSObject> output;
        Exception? terminating = null;
        try
        {
            output = ps.Invoke();
        }
        catch (RuntimeException ex)
        {
            output = new Collection<PSObject>();
            terminating = ex;
        }
        return new PsResult(output, ps.Streams.Error.ToList(), ps.Streams.Progress.ToList(), ps.Streams.Verbose.ToList(),
            ps.Streams.Warning.ToList(), terminating);
    }

    public void Dispose() => _runspace.Dispose();
}

public sealed record PsResult(
    Collection<PSObject> Output,
    List<ErrorRecord> Errors,
    List<ProgressRecord> Progress,
    List<VerboseRecord> Verbose,
    List<WarningRecord> Warnings,
    Exception? Terminating)
{
    public T Single<T>() => Assert.IsType<T>(Assert.Single(Output).BaseObject);
    public List<T> All<T>() => Output.Select(o => Assert.IsType<T>(o.BaseObject)).ToList();
    public string ErrorIds => string.Join(" | ", Errors.Select(e => e.FullyQualifiedErrorId));
    public void AssertNoErrors()
    {
        if (Terminating is not null) throw new Xunit.Sdk.XunitException("terminating error: " + Terminating);
        if (Errors.Count > 0) throw new Xunit.Sdk.XunitException("errors: " + string.Join("\n", Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
    }
}
