using Tandem.Features.Revenue;

namespace Tandem.Tests.Revenue;

/// <summary>The glossary's attribution arithmetic on hand-computed cases: role shares, coinciding roles, no "other" touches, time decay.</summary>
public sealed class AttributionModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 9, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset[] Times(int n) => [.. Enumerable.Range(0, n).Select(i => T0.AddDays(i))];

    private static void Equal(decimal[] expected, decimal[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 0.000001m, $"touch {i}: expected {expected[i]}, got {actual[i]}");
        Assert.True(Math.Abs(1m - actual.Sum()) < 0.000001m);
    }

    [Theory]
    [InlineData(AttributionModel.First)]
    [InlineData(AttributionModel.Last)]
    [InlineData(AttributionModel.Linear)]
    [InlineData(AttributionModel.U)]
    [InlineData(AttributionModel.W)]
    [InlineData(AttributionModel.FullPath)]
    [InlineData(AttributionModel.TimeDecay)]
    [InlineData(AttributionModel.J)]
    [InlineData(AttributionModel.InverseJ)]
    public void OneTouchTakesEverything(AttributionModel model) =>
        Equal([1m], Attribution.Weights(model, Times(1), new TouchRoles(0, 0, 0), T0.AddDays(3)));

    [Fact]
    public void PositionModelsGiveTheirSharesAndSplitTheRestBetweenTheOthers()
    {
        var times = Times(5);
        var roles = new TouchRoles(LeadCreation: 1, DealCreation: 3, ClosedWon: 4);
        var at = T0.AddDays(5);
        Equal([1m, 0, 0, 0, 0], Attribution.Weights(AttributionModel.First, times, roles, at));
        Equal([0, 0, 0, 0, 1m], Attribution.Weights(AttributionModel.Last, times, roles, at));
        Equal([0.2m, 0.2m, 0.2m, 0.2m, 0.2m], Attribution.Weights(AttributionModel.Linear, times, roles, at));
        Equal([0.4m, 0.4m, 0.2m / 3, 0.2m / 3, 0.2m / 3], Attribution.Weights(AttributionModel.U, times, roles, at));
        Equal([0.3m, 0.3m, 0.05m, 0.3m, 0.05m], Attribution.Weights(AttributionModel.W, times, roles, at));
        Equal([0.225m, 0.225m, 0.1m, 0.225m, 0.225m], Attribution.Weights(AttributionModel.FullPath, times, roles, at));
        Equal([0.2m, 0.2m / 3, 0.2m / 3, 0.2m / 3, 0.6m], Attribution.Weights(AttributionModel.J, times, roles, at));
        Equal([0.6m, 0.2m / 3, 0.2m / 3, 0.2m / 3, 0.2m], Attribution.Weights(AttributionModel.InverseJ, times, roles, at));
    }

    [Fact]
    public void CoincidingRolesAddUpAndWithoutOthersTheirShareIsSpreadInProportion()
    {
        // Two touches, the first is also lead creation: U gives it 80 %, the other touch the 20 % of "the others".
        Equal([0.8m, 0.2m], Attribution.Weights(AttributionModel.U, Times(2), new TouchRoles(0, 1, 1), T0.AddDays(2)));
        // Two touches, first + lead creation on 0, deal creation on 1: W has no "others"; 0.6 and 0.3 over 0.9.
        Equal([0.6m / 0.9m, 0.3m / 0.9m], Attribution.Weights(AttributionModel.W, Times(2), new TouchRoles(0, 1, 1), T0.AddDays(2)));
        // Four touches holding the four full-path roles: 25 % each.
        Equal([0.25m, 0.25m, 0.25m, 0.25m], Attribution.Weights(AttributionModel.FullPath, Times(4), new TouchRoles(1, 2, 3), T0.AddDays(4)));
        // Two touches, J: 20 % first and 60 % last over 80 %.
        Equal([0.25m, 0.75m], Attribution.Weights(AttributionModel.J, Times(2), new TouchRoles(0, 1, 1), T0.AddDays(2)));
    }

    [Fact]
    public void TimeDecayHalvesTheWeightEverySevenDays()
    {
        var at = T0.AddDays(14);
        DateTimeOffset[] times = [T0, T0.AddDays(7), at];
        // Weights 1/4, 1/2, 1 normalised by 7/4.
        Equal([1m / 7, 2m / 7, 4m / 7], Attribution.Weights(AttributionModel.TimeDecay, times, new TouchRoles(0, 0, 2), at));
    }

    [Fact]
    public void ASplitSumsExactlyToTheValueWithTheRemainderOnTheLastTouch()
    {
        var parts = Attribution.Split(100m, [1m / 3, 1m / 3, 1m / 3], 2);
        Assert.Equal([33.33m, 33.33m, 33.34m], parts);
        var odd = Attribution.Split(1234.57m, Attribution.Weights(AttributionModel.TimeDecay, Times(7), new TouchRoles(0, 0, 6), T0.AddDays(9)), 2);
        Assert.Equal(1234.57m, odd.Sum());
    }

    [Fact]
    public void RatesApplyFromTheirDateDirectOrInverseAndAMissingRateIsNeverAdded()
    {
        var converter = CurrencyConverter.From("EUR",
        [
            new ExchangeRate { FromCurrency = "USD", ToCurrency = "EUR", On = new DateOnly(2026, 1, 1), Rate = 0.9m },
            new ExchangeRate { FromCurrency = "USD", ToCurrency = "EUR", On = new DateOnly(2026, 6, 1), Rate = 0.8m },
            new ExchangeRate { FromCurrency = "EUR", ToCurrency = "GBP", On = new DateOnly(2026, 1, 1), Rate = 0.8m },
        ]);
        Assert.True(converter.TryConvert(100m, "USD", new DateOnly(2026, 5, 31), out var may));
        Assert.Equal(90m, may);
        Assert.True(converter.TryConvert(100m, "USD", new DateOnly(2026, 6, 1), out var june));
        Assert.Equal(80m, june);
        Assert.True(converter.TryConvert(100m, "USD", new DateOnly(2025, 1, 1), out var before));
        Assert.Equal(90m, before);
        Assert.True(converter.TryConvert(100m, "GBP", new DateOnly(2026, 3, 1), out var gbp));
        Assert.Equal(125m, gbp);
        Assert.False(converter.TryConvert(100m, "JPY", new DateOnly(2026, 3, 1), out _));
        var sum = new MoneySum(converter);
        sum.Add(10m, "EUR", new DateOnly(2026, 3, 1));
        sum.Add(1000m, "JPY", new DateOnly(2026, 3, 1));
        Assert.Equal(10m, sum.Total);
        Assert.Equal([new Unconverted("JPY", 1000m, 1)], sum.Unconverted);
    }
}
