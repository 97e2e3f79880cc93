/// Static analysis of code before it runs (see issue 5).
public enum CorralPolicy {}
