namespace Tandem;

/// <summary>Marker type for the shared UI strings in <c>Resources/SharedResource.resx</c> (en) and <c>.fr.resx</c>.</summary>
public sealed class SharedResource;
