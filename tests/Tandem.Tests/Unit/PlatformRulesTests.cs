using Tandem.Features.Platform;

namespace Tandem.Tests.Unit;

public sealed class PlatformRulesTests
{
    [Theory]
    [InlineData("admin", "Admin")]
    [InlineData("Sales Manager", "SalesManager")]
    [InlineData("sales-manager", "SalesManager")]
    [InlineData("MARKETING", "Marketing")]
    [InlineData("pilot", null)]
    [InlineData("", null)]
    public void RoleNamesAreNormalised(string input, string? expected) => Assert.Equal(expected, Roles.Parse(input));

    [Fact]
    public void ScopesParseCommaListsAndRejectUnknownOnes()
    {
        Assert.Equal(["ingest", "read"], Scopes.Parse("Ingest, read,read").Scopes);
        Assert.Equal("write", Scopes.Parse("read,write").Invalid);
        Assert.Empty(Scopes.Parse("").Scopes!);
    }

    [Fact]
    public void RolesGrantTheScopesTheirJobNeeds()
    {
        Assert.Equal(Scopes.All, Scopes.GrantedByRole(Roles.Admin));
        Assert.DoesNotContain(Scopes.Admin, Scopes.GrantedByRole(Roles.Marketing));
        Assert.Contains(Scopes.Ingest, Scopes.GrantedByRole(Roles.Marketing));
        Assert.Equal([Scopes.Read], Scopes.GrantedByRole(Roles.Sales));
        Assert.Equal([Scopes.Read], Scopes.GrantedByRole(Roles.SalesManager));
    }

    [Theory]
    [InlineData("tdm_abc123_secret", true, "abc123", "secret")]
    [InlineData("tdm_abc123_", false, "", "")]
    [InlineData("tdm__secret", false, "", "")]
    [InlineData("xyz_abc_secret", false, "", "")]
    [InlineData("", false, "", "")]
    public void ApiKeysSplitIntoPrefixAndSecret(string key, bool ok, string prefix, string secret)
    {
        Assert.Equal(ok, ApiKeyService.TrySplit(key, out var p, out var s));
        Assert.Equal(prefix, p);
        Assert.Equal(secret, s);
    }

    [Fact]
    public void GeneratedPasswordsAreLongAndMixed()
    {
        for (var i = 0; i < 200; i++)
        {
            var password = UserAdmin.GeneratePassword();
            Assert.Equal(20, password.Length);
            Assert.Contains(password, char.IsLower);
            Assert.Contains(password, char.IsUpper);
            Assert.Contains(password, char.IsDigit);
        }
    }

    [Fact]
    public void LaunchArgumentsSeparateTheCliTheDemoFlagAndHostSettings()
    {
        var web = LaunchArguments.Parse(["--demo", "--urls", "http://localhost:6000"]);
        Assert.True(web.Demo);
        Assert.False(web.IsAdmin);
        Assert.Equal(["--urls", "http://localhost:6000"], web.HostArgs);

        var cli = LaunchArguments.Parse(["admin", "create-api-key", "--name", "n", "--ConnectionStrings:Tandem", "Data Source=x.db"]);
        Assert.True(cli.IsAdmin);
        Assert.Equal(["create-api-key", "--name", "n", "--ConnectionStrings:Tandem", "Data Source=x.db"], cli.AdminArgs);
        Assert.Equal(["--ConnectionStrings:Tandem", "Data Source=x.db"], cli.HostArgs);
    }

    [Theory]
    [InlineData("/leads", true)]
    [InlineData("//evil.example", false)]
    [InlineData("/\\evil.example", false)]
    [InlineData("https://evil.example", false)]
    [InlineData(null, false)]
    public void OnlyLocalReturnUrlsAreFollowed(string? url, bool expected) => Assert.Equal(expected, OperationsEndpoints.IsLocal(url));

    [Theory]
    [InlineData("Host=db;Database=tandem", 64)]
    [InlineData("Host=db;Database=tandem;Max Auto Prepare=10", 10)]
    [InlineData("Host=db;Database=tandem;MaxAutoPrepare=0", 0)]
    public void PostgresStatementsArePreparedUnlessTheConnectionStringSaysOtherwise(string connectionString, int expected) =>
        Assert.Equal(expected, new Npgsql.NpgsqlConnectionStringBuilder(Tandem.Data.DatabaseSetup.WithAutoPrepare(connectionString)).MaxAutoPrepare);
}
