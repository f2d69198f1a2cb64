using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Tandem.Features.Capture;

namespace Tandem.Features.Platform;

/// <summary>
/// Enums as strings (case-insensitive names, or the defined numeric values), refusing any value outside the enum's defined set.
/// <see cref="JsonStringEnumConverter"/> alone accepts every integer (<c>{"action": -1}</c> became an undefined action): this
/// factory wraps it and throws a <see cref="JsonException"/> for an undefined value, which the API turns into a field error.
/// </summary>
public sealed class StrictEnumConverter : JsonConverterFactory
{
    private readonly JsonStringEnumConverter _inner = new();

    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter?)Activator.CreateInstance(typeof(Strict<>).MakeGenericType(typeToConvert), _inner.CreateConverter(typeToConvert, options));

    private sealed class Strict<T>(JsonConverter inner) : JsonConverter<T> where T : struct, Enum
    {
        private readonly JsonConverter<T> _inner = (JsonConverter<T>)inner;

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var value = _inner.Read(ref reader, typeToConvert, options);
            return EnumValues.IsDefined(value) ? value : throw new JsonException(EnumValues.Invalid<T>());
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => _inner.Write(writer, value, options);

        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var value = _inner.ReadAsPropertyName(ref reader, typeToConvert, options);
            return EnumValues.IsDefined(value) ? value : throw new JsonException(EnumValues.Invalid<T>());
        }

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            _inner.WriteAsPropertyName(writer, value, options);
    }
}

/// <summary>Whether an enum value is one of the defined ones, and the message naming them.</summary>
public static class EnumValues
{
    public static bool IsDefined<T>(T value) where T : struct, Enum => Enum.IsDefined(value);

    public static bool IsDefined(Type enumType, object value) => Enum.IsDefined(enumType, value);

    public static string Invalid<T>() where T : struct, Enum => Invalid(typeof(T));

    public static string Invalid(Type enumType) =>
        $"Not a valid value. Use one of: {string.Join(", ", Enum.GetNames(enumType).Select(JsonNamingPolicy.CamelCase.ConvertName))}.";
}

/// <summary>
/// Refuses undefined enum values in route and query parameters (<c>?stage=99</c> binds: <see cref="Enum.TryParse{TEnum}(string?, out TEnum)"/>
/// accepts any number) with a field error naming the parameter, for every endpoint of the group it is added to. The parameters
/// to check are found once per endpoint; endpoints without enum parameters get no filter.
/// </summary>
public static class EnumArgumentFilter
{
    private sealed record Check(int Index, string Field, Type EnumType, PropertyInfo? Property);

    public static TBuilder RejectUndefinedEnumArguments<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilterFactory((context, next) =>
        {
            var checks = ChecksFor(context.MethodInfo);
            if (checks.Count == 0)
                return next;
            return async invocation =>
            {
                FieldErrors? errors = null;
                foreach (var check in checks)
                {
                    var argument = invocation.Arguments[check.Index];
                    var value = check.Property is null || argument is null ? argument : check.Property.GetValue(argument);
                    if (value is not null && !EnumValues.IsDefined(check.EnumType, value))
                        (errors ??= new FieldErrors()).Add(check.Field, EnumValues.Invalid(check.EnumType));
                }
                return errors is null ? await next(invocation) : TypedResults.ValidationProblem(errors.ToDictionary());
            };
        });
        return builder;
    }

    private static readonly ConcurrentDictionary<MethodInfo, IReadOnlyList<Check>> Cache = new();

    private static IReadOnlyList<Check> ChecksFor(MethodInfo method) => Cache.GetOrAdd(method, m =>
    {
        var checks = new List<Check>();
        var parameters = m.GetParameters();
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (p.GetCustomAttribute<FromBodyAttribute>() is not null)
                continue;
            if (EnumType(p.ParameterType) is { } e)
                checks.Add(new Check(i, FieldName(p.GetCustomAttribute<FromQueryAttribute>()?.Name, p.GetCustomAttribute<FromRouteAttribute>()?.Name, p.Name!), e, null));
            else if (p.GetCustomAttribute<AsParametersAttribute>() is not null)
                foreach (var prop in p.ParameterType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                    if (prop.CanRead && EnumType(prop.PropertyType) is { } pe)
                        checks.Add(new Check(i, FieldName(prop.GetCustomAttribute<FromQueryAttribute>()?.Name, prop.GetCustomAttribute<FromRouteAttribute>()?.Name, prop.Name), pe, prop));
        }
        return checks;
    });

    private static Type? EnumType(Type type) => (Nullable.GetUnderlyingType(type) ?? type) is { IsEnum: true } e ? e : null;

    private static string FieldName(string? query, string? route, string name) =>
        query ?? route ?? JsonNamingPolicy.CamelCase.ConvertName(name);
}
