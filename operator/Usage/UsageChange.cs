namespace Passbox.Operator.Usage;

/// <summary>What a <see cref="UsageChange"/> names.</summary>
public enum UsageTarget
{
    /// <summary>A Secret, by its name; the controller maps it to the credential that generates it.</summary>
    Secret,

    /// <summary>A credential, by its name, as written in the <c>passbox.dev/uses</c> annotation.</summary>
    Credential,
}

/// <summary>The set of users of one Secret or credential in one namespace may have changed.</summary>
public readonly record struct UsageChange(string Namespace, UsageTarget Target, string Name);
