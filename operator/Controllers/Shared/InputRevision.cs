using System.Security.Cryptography;
using System.Text;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Fingerprint of what a check depends on: the login-relevant spec and the versions of the source Secrets. It goes
/// into the status, so it is built from versions, never from Secret content (a hash of a weak password can be
/// brute-forced by anyone who can read the credential).
/// </summary>
public static class InputRevision
{
    public static string Compute(string loginRelevantSpec, IEnumerable<SourceValue> sources)
    {
        var text = new StringBuilder(loginRelevantSpec);
        foreach (var source in sources.OrderBy(s => s.Reference.ToString(), StringComparer.Ordinal))
        {
            text.Append('\n').Append(source.Reference).Append('=').Append(source.Version ?? "missing");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }
}
