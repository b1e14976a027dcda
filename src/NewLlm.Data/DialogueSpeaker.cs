namespace NewLlm.Data;

/// <summary>Who speaks a turn of an HH-RLHF transcript.</summary>
public enum DialogueSpeaker
{
    /// <summary>A turn introduced by <c>Human:</c>.</summary>
    Human,

    /// <summary>A turn introduced by <c>Assistant:</c>.</summary>
    Assistant,
}
