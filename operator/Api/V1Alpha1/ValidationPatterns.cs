namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>Regular expressions shared by the schemas of both kinds.</summary>
public static class ValidationPatterns
{
    /// <summary>A DNS-1123 subdomain, as Kubernetes requires for Secret names.</summary>
    public const string DnsSubdomain = @"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    /// <summary>What Kubernetes accepts as a key of a Secret's data.</summary>
    public const string SecretKey = @"^[-._a-zA-Z0-9]+$";

    /// <summary>A Go-style duration such as <c>90s</c>, <c>10m</c> or <c>1h30m</c>; <c>0</c> is allowed.</summary>
    public const string Duration = @"^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$";
}
